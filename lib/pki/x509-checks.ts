import { createPrivateKey, KeyObject, X509Certificate } from 'node:crypto';
import { isIPv6 } from 'node:net';
import { displayPath } from '../util/display-path';
import { PkiError } from '../util/errors';
import type { CheckRecord } from './check-record';
import { readIfExists } from './folder';
import { FORCE_HINT } from './force-hint';
import type { ExistingCa, IssuedPair, LeafSpec } from './issue';
import { canSignWith, keyFactsOf, keyMatches, keyName, type KeyFacts, type KeySettings } from './keys';
import type { Leaf } from './leaves';
import type { PkiPaths } from './paths';

/**
 * Checks of certificates and keys on disk with Node's native X.509 code: whether the CA can sign,
 * whether a leaf still matches the configuration, whether the servers' material belongs together.
 */

const DAY_MS = 24 * 60 * 60 * 1000;
const EKU_OID = { serverAuth: '1.3.6.1.5.5.7.3.1', clientAuth: '1.3.6.1.5.5.7.3.2' } as const;

function parseCert(path: string, pem: string, fix: string): X509Certificate {
  try {
    return new X509Certificate(pem);
  } catch {
    throw new PkiError(`${displayPath(path)} is not a PEM certificate: ${fix}`);
  }
}

function parseKey(path: string, pem: string, fix: string): KeyObject {
  try {
    return createPrivateKey(pem);
  } catch {
    throw new PkiError(`${displayPath(path)} is not a PEM private key: ${fix}`);
  }
}

export interface LoadedCa extends ExistingCa {
  /** The key file's text: it seals the check record (lib/pki/check-record.ts). */
  readonly keyPem: string;
  readonly x509: X509Certificate;
  readonly path: string;
}

/** Reads and checks the CA; undefined when neither file exists (a fresh clone). */
export function loadCa(paths: PkiPaths, renewWithinDays: number, now: Date, log: (line: string) => void): LoadedCa | undefined {
  const certPem = readIfExists(paths.caCert);
  const keyPem = readIfExists(paths.caKey);
  if (certPem === undefined && keyPem === undefined) return undefined;
  const replace = `restore it from a backup, or run \`${FORCE_HINT}\` to create a new CA (every client then needs its new certificate).`;
  if (certPem === undefined) throw new PkiError(`${displayPath(paths.caCert)} is missing but ${displayPath(paths.caKey)} exists: ${replace}`);
  if (keyPem === undefined) throw new PkiError(`${displayPath(paths.caKey)} is missing but ${displayPath(paths.caCert)} exists: ${replace}`);

  const x509 = parseCert(paths.caCert, certPem, replace);
  const key = parseKey(paths.caKey, keyPem, replace);
  // The CA keeps its key type when pki.keyType changes (a new CA is never made silently): it signs with what it has.
  if (!canSignWith(key)) throw new PkiError(`${displayPath(paths.caKey)} is neither an RSA nor an ECDSA P-256 key: ${replace}`);
  if (!x509.ca) throw new PkiError(`${displayPath(paths.caCert)} is not a CA certificate (no CA:TRUE): ${replace}`);
  if (!x509.checkPrivateKey(key)) throw new PkiError(`${displayPath(paths.caKey)} does not belong to ${displayPath(paths.caCert)}: ${replace}`);
  const expires = new Date(x509.validTo);
  if (expires <= now) throw new PkiError(`${displayPath(paths.caCert)} expired on ${x509.validTo}: run \`${FORCE_HINT}\` to create a new CA.`);
  // Never replaced silently: its successor invalidates every client's certificate.
  if (now.getTime() >= renewalDue(x509.validTo, renewWithinDays)) {
    log(`! ${displayPath(paths.caCert)} expires on ${x509.validTo}: plan \`${FORCE_HINT}\` (a new CA; clients need new certificates).`);
  }
  return { cert: certPem, key, keyPem, x509, path: paths.caCert };
}

/** Node prints IPv6 SANs uncompressed in upper case (0:0:0:0:0:0:0:1); the configuration may not. */
function canonicalIp(ip: string): string {
  if (!isIPv6(ip)) return ip;
  let text = ip;
  const dotted = /(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(text);
  if (dotted) {
    const [a, b, c, d] = dotted.slice(1).map(Number);
    text = `${text.slice(0, dotted.index)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const [head, tail] = text.split('::');
  const groups = (part: string | undefined) => (part ? part.split(':') : []);
  const missing = 8 - groups(head).length - groups(tail).length;
  const all = tail === undefined ? groups(head) : [...groups(head), ...Array<string>(missing).fill('0'), ...groups(tail)];
  return all.map((group) => parseInt(group, 16).toString(16).toUpperCase()).join(':');
}

function expectedSans(spec: LeafSpec): string[] {
  return [
    ...spec.dnsNames.map((name) => `DNS:${name}`),
    ...spec.ips.map((ip) => `IP Address:${canonicalIp(ip)}`),
    ...spec.emails.map((email) => `email:${email}`),
  ].sort();
}

type Verdict = { reuse: true; pair: IssuedPair; facts: LeafFacts } | { reuse: false; why?: string };

export interface LeafPolicy extends KeySettings {
  readonly renewWithinDays: number;
}

/**
 * What a leaf's certificate asserts, as Node's X.509 code reads it: all that decides whether it
 * still matches the configuration. The check record (lib/pki/check-record.ts) keeps it per pair.
 */
export interface LeafFacts {
  readonly subject: string;
  /** Node's `subjectAltName` entries, sorted. */
  readonly sans: readonly string[];
  /** The extended key usages' OIDs, sorted. */
  readonly usages: readonly string[];
  readonly ca: boolean;
  readonly key: KeyFacts;
  readonly validFrom: string;
  readonly validTo: string;
}

/** The facts of a certificate; its key's come from its public key, which a matching private key shares. */
export function leafFactsOf(cert: X509Certificate): LeafFacts {
  return {
    subject: cert.subject,
    sans: (cert.subjectAltName ?? '').split(', ').filter(Boolean).sort(),
    usages: [...(cert.keyUsage ?? [])].sort(),
    ca: cert.ca,
    key: keyFactsOf(cert.publicKey),
    validFrom: cert.validFrom,
    validTo: cert.validTo,
  };
}

/** Parses a pair in full: the key belongs to the certificate and the CA signed it, or it is damage (an error). */
function checkedFacts(leaf: Leaf, pair: IssuedPair, ca: LoadedCa): LeafFacts {
  const fix = `delete ${displayPath(leaf.certPath)} and ${displayPath(leaf.keyPath)} to have them re-issued from ${displayPath(ca.path)}.`;
  const cert = parseCert(leaf.certPath, pair.cert, fix);
  const key = parseKey(leaf.keyPath, pair.key, fix);
  if (!cert.checkPrivateKey(key)) throw new PkiError(`${displayPath(leaf.keyPath)} does not belong to ${displayPath(leaf.certPath)}: ${fix}`);
  if (!cert.checkIssued(ca.x509) || !cert.verify(ca.x509.publicKey)) {
    throw new PkiError(`${displayPath(leaf.certPath)} is not signed by the current CA: ${fix}`);
  }
  return leafFactsOf(cert);
}

/** When a certificate stops being kept as it is: `renewWithinDays` before it expires (for the CA: warned about). */
const renewalDue = (validTo: string, renewWithinDays: number): number => new Date(validTo).getTime() - renewWithinDays * DAY_MS;

/**
 * The span of time (ms since the epoch, from inclusive, until exclusive) in which checking
 * certificates of these validities decides as it would now: none is due for renewal, the CA's
 * warning is not due, and none is not yet valid. Outside it, a run may re-issue or warn.
 */
export function unchangedWithin(
  validities: ReadonlyArray<{ readonly validFrom: string; readonly validTo: string }>, renewWithinDays: number,
): { readonly from: number; readonly until: number } {
  return {
    from: Math.max(...validities.map(({ validFrom }) => new Date(validFrom).getTime())),
    until: Math.min(...validities.map(({ validTo }) => renewalDue(validTo, renewWithinDays))),
  };
}

/** Why a certificate with these facts must be re-issued for `spec` at `now`, or undefined when it can stay. */
function staleness(facts: LeafFacts, spec: LeafSpec, policy: LeafPolicy, now: Date): string | undefined {
  if (now.getTime() >= renewalDue(facts.validTo, policy.renewWithinDays)) return `it expires on ${facts.validTo}`;
  if (new Date(facts.validFrom) > now) return `it is not valid before ${facts.validFrom}`;
  if (facts.sans.join(', ') !== expectedSans(spec).join(', ')) return `its names (${facts.sans.join(', ') || 'none'}) differ from the configuration`;
  if (facts.subject !== `CN=${spec.commonName}`) return `its subject ${facts.subject.replace(/\n/g, ', ')} differs from CN=${spec.commonName}`;
  const usages = spec.usages.map((usage) => EKU_OID[usage]).sort().join();
  if (facts.ca || facts.usages.join() !== usages) return `it is not a ${spec.usages.join(' + ')} certificate`;
  if (!keyMatches(facts.key, policy)) return `its key is not ${keyName(policy)}`;
  return undefined;
}

/**
 * Whether the leaf on disk can be reused, or why it must be re-issued. Damage is an error. A pair
 * whose bytes `checked` vouches for (lib/pki/check-record.ts) is not parsed again; its facts are
 * still held against the configuration and the time.
 */
export function inspectLeaf(leaf: Leaf, ca: LoadedCa, policy: LeafPolicy, now: Date, checked?: CheckRecord): Verdict {
  const certPem = readIfExists(leaf.certPath);
  const keyPem = readIfExists(leaf.keyPath);
  if (certPem === undefined && keyPem === undefined) return { reuse: false };
  if (certPem === undefined) return { reuse: false, why: `${displayPath(leaf.certPath)} is missing` };
  if (keyPem === undefined) return { reuse: false, why: `${displayPath(leaf.keyPath)} is missing` };

  const pair = { cert: certPem, key: keyPem };
  const facts = checked?.factsOf(pair) ?? checkedFacts(leaf, pair, ca);
  const why = staleness(facts, leaf.spec, policy, now);
  return why === undefined ? { reuse: true, pair, facts } : { reuse: false, why };
}

/**
 * Checks the servers' TLS material before it goes into Secrets: each key belongs to its
 * certificate and the CA signed it. A Secret mixing two generations would deploy a server no client can reach.
 */
export function checkServerTls(material: {
  readonly caCert: string; readonly serverCert: string; readonly serverKey: string; readonly route?: IssuedPair; readonly echo?: IssuedPair;
}): void {
  const ca = new X509Certificate(material.caCert);
  const pairs: Array<[string, IssuedPair]> = [['server', { cert: material.serverCert, key: material.serverKey }]];
  if (material.route) pairs.push(['route', material.route]);
  if (material.echo) pairs.push(['echo', material.echo]);
  for (const [what, pair] of pairs) {
    const cert = new X509Certificate(pair.cert);
    if (!cert.checkPrivateKey(createPrivateKey(pair.key))) {
      throw new PkiError(`the ${what} key does not belong to the ${what} certificate: run \`npm run certs\`, then synth again`);
    }
    if (!cert.checkIssued(ca) || !cert.verify(ca.publicKey)) {
      throw new PkiError(`the ${what} certificate is not signed by the CA: run \`npm run certs\`, then synth again`);
    }
  }
}
