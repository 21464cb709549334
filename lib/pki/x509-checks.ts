import { createPrivateKey, KeyObject, X509Certificate } from 'node:crypto';
import { isIPv6 } from 'node:net';
import { displayPath } from '../util/display-path';
import { PkiError } from '../util/errors';
import { readIfExists } from './folder';
import { FORCE_HINT } from './force-hint';
import type { ExistingCa, IssuedPair, LeafSpec } from './issue';
import { canSignWith, keyMatches, keyName, type KeySettings } from './keys';
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
  if (expires.getTime() - now.getTime() <= renewWithinDays * DAY_MS) {
    log(`! ${displayPath(paths.caCert)} expires on ${x509.validTo}: plan \`${FORCE_HINT}\` (a new CA; clients need new certificates).`);
  }
  return { cert: certPem, key, x509, path: paths.caCert };
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

type Verdict = { reuse: true; pair: IssuedPair } | { reuse: false; why?: string };

export interface LeafPolicy extends KeySettings {
  readonly renewWithinDays: number;
}

/** Whether the leaf on disk can be reused, or why it must be re-issued. Damage is an error. */
export function inspectLeaf(leaf: Leaf, ca: LoadedCa, policy: LeafPolicy, now: Date): Verdict {
  const certPem = readIfExists(leaf.certPath);
  const keyPem = readIfExists(leaf.keyPath);
  if (certPem === undefined && keyPem === undefined) return { reuse: false };
  if (certPem === undefined) return { reuse: false, why: `${displayPath(leaf.certPath)} is missing` };
  if (keyPem === undefined) return { reuse: false, why: `${displayPath(leaf.keyPath)} is missing` };

  const fix = `delete ${displayPath(leaf.certPath)} and ${displayPath(leaf.keyPath)} to have them re-issued from ${displayPath(ca.path)}.`;
  const cert = parseCert(leaf.certPath, certPem, fix);
  const key = parseKey(leaf.keyPath, keyPem, fix);
  if (!cert.checkPrivateKey(key)) throw new PkiError(`${displayPath(leaf.keyPath)} does not belong to ${displayPath(leaf.certPath)}: ${fix}`);
  if (!cert.checkIssued(ca.x509) || !cert.verify(ca.x509.publicKey)) {
    throw new PkiError(`${displayPath(leaf.certPath)} is not signed by the current CA: ${fix}`);
  }

  const expires = new Date(cert.validTo);
  if (expires.getTime() - now.getTime() <= policy.renewWithinDays * DAY_MS) return { reuse: false, why: `it expires on ${cert.validTo}` };
  if (new Date(cert.validFrom) > now) return { reuse: false, why: `it is not valid before ${cert.validFrom}` };
  const sans = (cert.subjectAltName ?? '').split(', ').filter(Boolean).sort();
  if (sans.join(', ') !== expectedSans(leaf.spec).join(', ')) return { reuse: false, why: `its names (${sans.join(', ') || 'none'}) differ from the configuration` };
  if (cert.subject !== `CN=${leaf.spec.commonName}`) return { reuse: false, why: `its subject ${cert.subject.replace(/\n/g, ', ')} differs from CN=${leaf.spec.commonName}` };
  const usages = leaf.spec.usages.map((usage) => EKU_OID[usage]).sort().join();
  if (cert.ca || [...(cert.keyUsage ?? [])].sort().join() !== usages) return { reuse: false, why: `it is not a ${leaf.spec.usages.join(' + ')} certificate` };
  if (!keyMatches(key, policy)) return { reuse: false, why: `its key is not ${keyName(policy)}` };
  return { reuse: true, pair: { cert: certPem, key: keyPem } };
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
