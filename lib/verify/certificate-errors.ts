/** How Node names a server certificate it does not trust, for the HTTPS and the NATS checks alike. */

/** Node's codes for a server certificate that no certificate in our ca.crt signed. */
export const FOREIGN_CA_CODES = new Set([
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE', 'UNABLE_TO_GET_ISSUER_CERT', 'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'SELF_SIGNED_CERT_IN_CHAIN', 'DEPTH_ZERO_SELF_SIGNED_CERT', 'CERT_SIGNATURE_FAILURE',
]);
/** Node's codes for a certificate from our CA that is still not valid: expired, or not naming the host. */
export const BAD_CERTIFICATE_CODES = new Set(['CERT_HAS_EXPIRED', 'CERT_NOT_YET_VALID', 'ERR_TLS_CERT_ALTNAME_INVALID']);
