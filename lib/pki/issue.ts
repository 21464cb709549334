import { constants, KeyObject, privateEncrypt, randomBytes } from 'node:crypto';
import type * as Forge from 'node-forge';
import type { KeyPair } from './keys';

/**
 * Issues certificates with node-forge. Loaded only when something must be issued: node-forge takes
 * tens of milliseconds to load, which `npm run synth` should not pay while the PKI on disk is valid.
 */

// Only the parts of node-forge that issuing needs: its index also loads TLS, SSH, PKCS#12 and more.
require('node-forge/lib/x509');
require('node-forge/lib/sha256');
const forge = require('node-forge/lib/forge') as typeof Forge;

export type KeyUsage = 'serverAuth' | 'clientAuth';

/** What a leaf certificate asserts; `lib/pki/pki.ts` derives it from the configuration and checks files against it. */
export interface LeafSpec {
  readonly commonName: string;
  readonly dnsNames: readonly string[];
  readonly ips: readonly string[];
  readonly emails: readonly string[];
  /** Extended key usages: a server, a client, or both (a NATS route dials and accepts). */
  readonly usages: readonly KeyUsage[];
}

/** PEM texts of a certificate and its private key (PKCS#8). */
export interface IssuedPair {
  readonly cert: string;
  readonly key: string;
}

/** An existing CA, as read from disk and already checked. */
export interface ExistingCa {
  readonly cert: string;
  readonly key: KeyObject;
}

export interface IssueRequest {
  /** Sign with this CA; without it a new CA is created first. */
  readonly ca?: ExistingCa;
  /** One fresh key pair per leaf, plus one for the CA when there is none. */
  readonly keys: readonly KeyPair[];
  readonly caCommonName: string;
  readonly leaves: readonly LeafSpec[];
  readonly validityDays: number;
  readonly now: Date;
  /** Where serial numbers come from; tests pass chosen bytes to reach the sign-bit cases deterministically. */
  readonly randomBytes?: (size: number) => Buffer;
}

export interface IssueResult {
  /** Set when a new CA was created. */
  readonly ca?: IssuedPair;
  readonly leaves: IssuedPair[];
}

const DAY_MS = 24 * 60 * 60 * 1000;

// DER prefix of a PKCS#1 v1.5 DigestInfo for SHA-256 (RFC 8017, section 9.2, note 1).
const SHA256_DIGEST_INFO = Buffer.from('3031300d060960864801650304020105000420', 'hex');

/**
 * A signer node-forge accepts in `cert.sign`: forge builds and digests the TBSCertificate with
 * SHA-256, Node's native RSA signs the digest (forge's pure-JS RSA is ~20× slower).
 */
function nativeSigner(privateKey: KeyObject): { sign(md: Forge.md.MessageDigest): string } {
  return {
    sign(md) {
      const digest = Buffer.from(md.digest().getBytes(), 'binary');
      const signature = privateEncrypt({ key: privateKey, padding: constants.RSA_PKCS1_PADDING }, Buffer.concat([SHA256_DIGEST_INFO, digest]));
      return signature.toString('binary');
    },
  };
}

/** A positive serial without a leading zero byte: forge writes the bytes as a signed DER INTEGER. */
function serialNumber(source: (size: number) => Buffer = randomBytes): string {
  const bytes = source(16);
  bytes[0] = bytes[0] & 0x7f || 0x01;
  return bytes.toString('hex');
}

function forgePublicKey(publicKey: KeyObject): Forge.pki.rsa.PublicKey {
  const jwk = publicKey.export({ format: 'jwk' });
  const big = (value: string | undefined) => new forge.jsbn.BigInteger(Buffer.from(value!, 'base64url').toString('hex'), 16);
  return forge.pki.setRsaPublicKey(big(jwk.n), big(jwk.e));
}

function newCertificate(publicKey: KeyObject, subject: Forge.pki.CertificateField[], request: IssueRequest): Forge.pki.Certificate {
  const cert = forge.pki.createCertificate();
  cert.publicKey = forgePublicKey(publicKey);
  cert.serialNumber = serialNumber(request.randomBytes);
  const notBefore = new Date(Math.floor(request.now.getTime() / 1000) * 1000);
  cert.validity.notBefore = notBefore;
  cert.validity.notAfter = new Date(notBefore.getTime() + request.validityDays * DAY_MS);
  cert.setSubject(subject);
  return cert;
}

function sign(cert: Forge.pki.Certificate, signingKey: KeyObject): string {
  cert.sign(nativeSigner(signingKey) as unknown as Forge.pki.rsa.PrivateKey, forge.md.sha256.create());
  return forge.pki.certificateToPem(cert);
}

function issueCa(keys: KeyPair, request: IssueRequest): { cert: string; forgeCert: Forge.pki.Certificate } {
  const cert = newCertificate(keys.publicKey, [{ name: 'commonName', value: request.caCommonName }], request);
  cert.setIssuer(cert.subject.attributes);
  cert.setExtensions([
    { name: 'basicConstraints', cA: true, critical: true },
    { name: 'keyUsage', keyCertSign: true, cRLSign: true, critical: true },
    { name: 'subjectKeyIdentifier' },
  ]);
  return { cert: sign(cert, keys.privateKey), forgeCert: cert };
}

function issueLeaf(spec: LeafSpec, publicKey: KeyObject, ca: Forge.pki.Certificate, caKey: KeyObject, request: IssueRequest): string {
  const cert = newCertificate(publicKey, [{ name: 'commonName', value: spec.commonName }], request);
  cert.setIssuer(ca.subject.attributes);
  const altNames = [
    ...spec.dnsNames.map((value) => ({ type: 2, value })),
    ...spec.ips.map((ip) => ({ type: 7, ip })),
    ...spec.emails.map((value) => ({ type: 1, value })),
  ];
  const caKeyExtension: { subjectKeyIdentifier?: string } | undefined = ca.getExtension('subjectKeyIdentifier');
  const caKeyId = caKeyExtension?.subjectKeyIdentifier;
  cert.setExtensions([
    { name: 'basicConstraints', cA: false, critical: true },
    { name: 'keyUsage', digitalSignature: true, keyEncipherment: true, critical: true },
    { name: 'extKeyUsage', ...Object.fromEntries(spec.usages.map((usage) => [usage, true])) },
    // An empty SAN extension is invalid (RFC 5280): a client without an email gets none.
    ...(altNames.length ? [{ name: 'subjectAltName', altNames }] : []),
    { name: 'subjectKeyIdentifier' },
    // The CA's key id, not the leaf's (forge's `keyIdentifier: true`), or chains fail to build.
    ...(caKeyId ? [{ name: 'authorityKeyIdentifier', keyIdentifier: forge.util.hexToBytes(caKeyId) }] : []),
  ]);
  return sign(cert, caKey);
}

const pkcs8 = (key: KeyObject): string => key.export({ type: 'pkcs8', format: 'pem' }) as string;

/** Issues the CA if there is none, then each leaf. */
export function issueCertificates(request: IssueRequest): IssueResult {
  const keys = [...request.keys];
  if (keys.length !== request.leaves.length + (request.ca ? 0 : 1)) throw new Error('issueCertificates: one key per certificate');

  let newCa: IssuedPair | undefined;
  let caCert: Forge.pki.Certificate;
  let caKey: KeyObject;
  if (request.ca) {
    caCert = forge.pki.certificateFromPem(request.ca.cert);
    caKey = request.ca.key;
  } else {
    const caKeys = keys.pop()!;
    const issued = issueCa(caKeys, request);
    caCert = issued.forgeCert;
    caKey = caKeys.privateKey;
    newCa = { cert: issued.cert, key: pkcs8(caKeys.privateKey) };
  }

  const leaves = request.leaves.map((spec, i) => ({
    cert: issueLeaf(spec, keys[i].publicKey, caCert, caKey, request),
    key: pkcs8(keys[i].privateKey),
  }));
  return { ca: newCa, leaves };
}
