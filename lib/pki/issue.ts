import { createHash, KeyObject, randomBytes, sign, X509Certificate } from 'node:crypto';
import type * as Forge from 'node-forge';
import type { KeyPair } from './keys';

/**
 * Issues certificates: node-forge encodes the X.509 structures, Node's native crypto signs them.
 * Forge can hold neither an EC public key nor make an ECDSA signature, so the subject's key goes in
 * as the SubjectPublicKeyInfo Node exports, and the TBSCertificate forge encodes is signed by
 * `crypto.sign` (also for RSA: native signing is far faster than forge's pure-JS RSA).
 * Loaded only when something must be issued: node-forge takes tens of milliseconds to load, which
 * `npm run synth` should not pay while the PKI on disk is valid.
 */

// Only the parts of node-forge that issuing needs: its index also loads TLS, SSH, PKCS#12 and more.
require('node-forge/lib/x509');
const forge = require('node-forge/lib/forge') as typeof Forge;
const { asn1 } = forge;

/** Forge's extension encoder, which its type declarations leave out. */
const forgePki = forge.pki as unknown as { certificateExtensionsToAsn1: (extensions: unknown[]) => Forge.asn1.Asn1 };

export type KeyUsage = 'serverAuth' | 'clientAuth';

/** What a leaf certificate asserts; `lib/pki/leaves.ts` derives it from the configuration, `x509-checks.ts` checks files against it. */
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
  /**
   * One fresh key pair per leaf, then one for the CA when there is none; each may still be in the
   * making, so a leaf is signed as soon as its own key is ready.
   */
  readonly keys: ReadonlyArray<KeyPair | Promise<KeyPair>>;
  readonly caCommonName: string;
  readonly leaves: readonly LeafSpec[];
  readonly validityDays: number;
  readonly now: Date;
  /** Called with each leaf as soon as it is issued, in order: the caller writes it and counts (awaited). */
  readonly onLeaf?: (index: number, pair: IssuedPair) => void | Promise<void>;
  /** Where serial numbers come from; tests pass chosen bytes to reach the sign-bit cases deterministically. */
  readonly randomBytes?: (size: number) => Buffer;
}

export interface IssueResult {
  /** Set when a new CA was created. */
  readonly ca?: IssuedPair;
  readonly leaves: IssuedPair[];
}

/** Who signs: the CA's key, its subject (every leaf's issuer, byte for byte) and its key id (every leaf's AKI). */
interface Issuer {
  readonly key: KeyObject;
  readonly name: Forge.asn1.Asn1;
  readonly keyId?: Buffer;
}

const DAY_MS = 24 * 60 * 60 * 1000;
/** The TBSCertificate's `[3]` field. */
const EXTENSIONS_TAG = 3;
/** The TBSCertificate's `[0]` field, and its value for X.509 v3. */
const VERSION_TAG = 0;
const VERSION_3 = 2;
/** RFC 5280 4.1.2.5: UTCTime through 2049, GeneralizedTime from 2050. */
const FIRST_GENERALIZED_TIME = Date.UTC(2050, 0, 1);
const OID = {
  sha256WithRSAEncryption: '1.2.840.113549.1.1.11',
  ecdsaWithSha256: '1.2.840.10045.4.3.2',
  subjectKeyIdentifier: '2.5.29.14',
  commonName: '2.5.4.3',
} as const;

const universal = (type: Forge.asn1.Type, value: string | Forge.asn1.Asn1[]) =>
  asn1.create(asn1.Class.UNIVERSAL, type, Array.isArray(value), value);
const sequence = (items: Forge.asn1.Asn1[]) => universal(asn1.Type.SEQUENCE, items);
const oid = (dotted: string) => universal(asn1.Type.OID, asn1.oidToDer(dotted).getBytes());
const binary = (buffer: Buffer) => buffer.toString('binary');
/** Forge keeps DER as a "binary" string; BIT STRINGs are left undecoded so they re-encode byte for byte. */
const fromDer = (der: Buffer) => asn1.fromDer(binary(der), { decodeBitStrings: false } as unknown as boolean);
const toDer = (node: Forge.asn1.Asn1) => Buffer.from(asn1.toDer(node).getBytes(), 'binary');

/**
 * The signature AlgorithmIdentifier for the CA's key: sha256WithRSAEncryption with NULL parameters
 * (RFC 4055), or ecdsa-with-SHA256 with the parameters absent (RFC 5758 3.2).
 */
function signatureAlgorithm(caKey: KeyObject): Forge.asn1.Asn1 {
  return caKey.asymmetricKeyType === 'ec'
    ? sequence([oid(OID.ecdsaWithSha256)])
    : sequence([oid(OID.sha256WithRSAEncryption), universal(asn1.Type.NULL, '')]);
}

/** RFC 5280 4.2.1.2 method 1: the SHA-1 of the subjectPublicKey BIT STRING's bits. */
function keyIdOf(spki: Forge.asn1.Asn1): Buffer {
  const bits = (spki.value as Forge.asn1.Asn1[])[1].value as string;
  // The first octet of a BIT STRING counts its unused bits; a key uses them all.
  return createHash('sha1').update(Buffer.from(bits.slice(1), 'binary')).digest();
}

/** A positive serial without a leading zero byte: the bytes are written as a signed DER INTEGER. */
function serialNumber(source: (size: number) => Buffer = randomBytes): string {
  const bytes = source(16);
  bytes[0] = bytes[0] & 0x7f || 0x01;
  return binary(bytes);
}

function time(date: Date): Forge.asn1.Asn1 {
  return date.getTime() < FIRST_GENERALIZED_TIME
    ? universal(asn1.Type.UTCTIME, asn1.dateToUtcTime(date))
    : universal(asn1.Type.GENERALIZEDTIME, asn1.dateToGeneralizedTime(date));
}

/** CN as a UTF8String, which RFC 5280 asks of new certificates (forge's default is PrintableString). */
const commonNameDn = (commonName: string) => forge.pki.distinguishedNameToAsn1({
  attributes: [{ type: OID.commonName, value: commonName, valueTagClass: asn1.Type.UTF8 as unknown as Forge.asn1.Class }],
});

/** Forge fills in each extension's DER value; a throw-away certificate is its only way in. */
function extensions(list: object[]): Forge.asn1.Asn1 {
  const holder = forge.pki.createCertificate();
  holder.setExtensions(list);
  return forgePki.certificateExtensionsToAsn1(holder.extensions as unknown[]);
}

const keyIdExtension = (keyId: Buffer) => ({ name: 'subjectKeyIdentifier', value: universal(asn1.Type.OCTETSTRING, binary(keyId)) });

interface CertificateFields {
  readonly subject: Forge.asn1.Asn1;
  readonly spki: Forge.asn1.Asn1;
  readonly extensions: object[];
}

/** Encodes the TBSCertificate, signs it with the issuer's key and returns the certificate as PEM. */
function signedCertificate(fields: CertificateFields, issuer: Issuer, request: IssueRequest): string {
  const notBefore = new Date(Math.floor(request.now.getTime() / 1000) * 1000);
  const notAfter = new Date(notBefore.getTime() + request.validityDays * DAY_MS);
  const algorithm = signatureAlgorithm(issuer.key);
  const tbs = sequence([
    asn1.create(asn1.Class.CONTEXT_SPECIFIC, VERSION_TAG, true, [universal(asn1.Type.INTEGER, asn1.integerToDer(VERSION_3).getBytes())]),
    universal(asn1.Type.INTEGER, serialNumber(request.randomBytes)),
    algorithm,
    issuer.name,
    sequence([time(notBefore), time(notAfter)]),
    fields.subject,
    fields.spki,
    extensions(fields.extensions),
  ]);
  const tbsDer = toDer(tbs);
  // RSA keys sign PKCS#1 v1.5, EC keys a DER-encoded ECDSA-Sig-Value: what X.509 wants of each.
  const signature = sign('sha256', tbsDer, issuer.key);
  const der = toDer(sequence([tbs, algorithm, universal(asn1.Type.BITSTRING, `\0${binary(signature)}`)]));
  return `-----BEGIN CERTIFICATE-----\n${der.toString('base64').replace(/.{1,64}/g, '$&\n')}-----END CERTIFICATE-----\n`;
}

const spkiOf = (publicKey: KeyObject) => fromDer(publicKey.export({ type: 'spki', format: 'der' }));
const pkcs8 = (key: KeyObject): string => key.export({ type: 'pkcs8', format: 'pem' }) as string;

function issueCa(keys: KeyPair, request: IssueRequest): { pair: IssuedPair; issuer: Issuer } {
  const spki = spkiOf(keys.publicKey);
  const keyId = keyIdOf(spki);
  const name = commonNameDn(request.caCommonName);
  const issuer: Issuer = { key: keys.privateKey, name, keyId };
  const cert = signedCertificate({
    subject: name,
    spki,
    extensions: [
      { name: 'basicConstraints', cA: true, critical: true },
      { name: 'keyUsage', keyCertSign: true, cRLSign: true, critical: true },
      keyIdExtension(keyId),
    ],
  }, issuer, request);
  return { pair: { cert, key: pkcs8(keys.privateKey) }, issuer };
}

/** The issuer an existing CA certificate makes: its subject as it is encoded, and its subject key identifier. */
function issuerOf(ca: ExistingCa): Issuer {
  const tbs = (fromDer(new X509Certificate(ca.cert).raw).value as Forge.asn1.Asn1[])[0].value as Forge.asn1.Asn1[];
  // version [0], serial, signature, issuer, validity, subject, SPKI, then [3] extensions.
  const name = tbs[5];
  const extensionList = tbs.find((node) => node.tagClass === asn1.Class.CONTEXT_SPECIFIC && Number(node.type) === EXTENSIONS_TAG);
  const ski = ((extensionList?.value as Forge.asn1.Asn1[] | undefined)?.[0]?.value as Forge.asn1.Asn1[] | undefined ?? [])
    .map((extension) => extension.value as Forge.asn1.Asn1[])
    .find(([id]) => asn1.derToOid(id.value as string) === OID.subjectKeyIdentifier);
  const keyId = ski ? Buffer.from(asn1.fromDer(ski[ski.length - 1].value as string).value as string, 'binary') : undefined;
  return { key: ca.key, name, keyId };
}

function issueLeaf(spec: LeafSpec, keys: KeyPair, issuer: Issuer, request: IssueRequest): IssuedPair {
  const spki = spkiOf(keys.publicKey);
  const altNames = [
    ...spec.dnsNames.map((value) => ({ type: 2, value })),
    ...spec.ips.map((ip) => ({ type: 7, ip })),
    ...spec.emails.map((value) => ({ type: 1, value })),
  ];
  const cert = signedCertificate({
    subject: commonNameDn(spec.commonName),
    spki,
    extensions: [
      { name: 'basicConstraints', cA: false, critical: true },
      // An EC key signs (ECDHE); only an RSA key may also carry a key exchange (keyEncipherment).
      { name: 'keyUsage', digitalSignature: true, keyEncipherment: keys.publicKey.asymmetricKeyType === 'rsa', critical: true },
      { name: 'extKeyUsage', ...Object.fromEntries(spec.usages.map((usage) => [usage, true])) },
      // An empty SAN extension is invalid (RFC 5280): a client without an email gets none.
      ...(altNames.length ? [{ name: 'subjectAltName', altNames }] : []),
      keyIdExtension(keyIdOf(spki)),
      // The CA's key id, not the leaf's, or chains fail to build.
      ...(issuer.keyId ? [{ name: 'authorityKeyIdentifier', keyIdentifier: binary(issuer.keyId) }] : []),
    ],
  }, issuer, request);
  return { cert, key: pkcs8(keys.privateKey) };
}

/** Issues the CA if there is none, then each leaf as its key becomes ready. */
export async function issueCertificates(request: IssueRequest): Promise<IssueResult> {
  const keys = [...request.keys];
  if (keys.length !== request.leaves.length + (request.ca ? 0 : 1)) throw new Error('issueCertificates: one key per certificate');

  let newCa: IssuedPair | undefined;
  let issuer: Issuer;
  if (request.ca) {
    issuer = issuerOf(request.ca);
  } else {
    const issued = issueCa(await keys.pop()!, request);
    newCa = issued.pair;
    issuer = issued.issuer;
  }
  const leaves: IssuedPair[] = [];
  for (const [i, spec] of request.leaves.entries()) {
    const pair = issueLeaf(spec, await keys[i], issuer, request);
    leaves.push(pair);
    await request.onLeaf?.(i, pair);
  }
  return { ca: newCa, leaves };
}
