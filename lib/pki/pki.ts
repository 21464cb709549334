import { createPrivateKey, KeyObject, X509Certificate } from 'node:crypto';
import { chmodSync, readdirSync, rmdirSync, rmSync, statSync } from 'node:fs';
import { isIP, isIPv6 } from 'node:net';
import { join } from 'node:path';
import { natsRouteHostnamesOf, natsServiceHostnames, type Config } from '../config/config';
import { pkiDirSetting } from '../config/layout';
import { isTemporaryFile, writeFileAtomic } from '../util/atomic-file';
import { displayPath } from '../util/display-path';
import { PkiError, UserError } from '../util/errors';
import { readRegularFile } from '../util/plain-paths';
import { makeFolder, projectFolder, vetFolder } from '../util/project-folder';
import type { ExistingCa, IssuedPair, LeafSpec } from './issue';
import { generateRsaKeys } from './keys';

/**
 * The dev PKI: a CA, the NATS server's and http-echo's certificates and one client certificate per identity, kept in
 * `config.pki.dir`. Valid files are reused byte for byte and checked with Node's native X.509 code;
 * node-forge (slow to load) is loaded only when something must be issued.
 */

export interface PkiPaths {
  dir: string;
  caCert: string;
  caKey: string;
  serverCert: string;
  serverKey: string;
  /** The NATS routes' certificate, when the configuration asks for a cluster. */
  routeCert: string;
  routeKey: string;
  /** http-echo's HTTPS certificate, which Traefik serves. */
  echoCert: string;
  echoKey: string;
  identityCert(name: string): string;
  identityKey(name: string): string;
}

export interface EnsurePkiOptions {
  /** The project folder `config.pki.dir` lies in; default: the current directory. */
  baseDir?: string;
  /** Replace everything, the CA included. */
  force?: boolean;
  /** Re-issue these leaves from the same CA although they are valid: `server` or identity names. */
  renew?: readonly string[];
  now?: Date;
  log?: (line: string) => void;
}

/** PEM texts of what the NATS server needs, as this run checked or issued them; `issued`/`reused` list file paths. */
export interface PkiResult {
  caCert: string;
  serverCert: string;
  serverKey: string;
  /** The routes' certificate and key, when `nats.replicas` > 1. */
  route?: IssuedPair;
  /** http-echo's HTTPS certificate and key (`echo.tls.hosts`). */
  echo: IssuedPair;
  paths: PkiPaths;
  issued: string[];
  reused: string[];
}

const CA_COMMON_NAME = 'k3s-nats-tls dev CA';
/** The names `--renew` knows the server and the route certificates by. */
export const SERVER_LEAF = 'server';
export const ROUTE_LEAF = 'route';
/** The name `--renew` knows http-echo's HTTPS certificate by, and its file stem. */
export const ECHO_LEAF = 'echo';
const ECHO_COMMON_NAME = 'k3s-nats-tls echo';
const ROUTE_COMMON_NAME = 'k3s-nats-tls NATS route';
const SERVER_COMMON_NAME = 'k3s-nats-tls NATS server';
const FORCE_HINT = 'npm run certs -- --force';
const KEY_MODE = 0o600;
const CERT_MODE = 0o644;
const DIR_MODE = 0o700;
const DAY_MS = 24 * 60 * 60 * 1000;
const EKU_OID = { serverAuth: '1.3.6.1.5.5.7.3.1', clientAuth: '1.3.6.1.5.5.7.3.2' } as const;

/** The PKI's files in `config.pki.dir`, which must lie inside the project folder `baseDir`. */
export function pkiPaths(config: Pick<Config, 'pki'>, baseDir: string = process.cwd()): PkiPaths {
  return pkiFilesIn(projectFolder(baseDir, pkiDirSetting(config)));
}

/** The PKI's file names in `dir`, wherever that is (verify reads keys from any folder). */
export function pkiFilesIn(dir: string): PkiPaths {
  return {
    dir,
    caCert: join(dir, 'ca.crt'),
    caKey: join(dir, 'ca.key'),
    serverCert: join(dir, 'server.crt'),
    serverKey: join(dir, 'server.key'),
    routeCert: join(dir, `${ROUTE_LEAF}.crt`),
    routeKey: join(dir, `${ROUTE_LEAF}.key`),
    echoCert: join(dir, `${ECHO_LEAF}.crt`),
    echoKey: join(dir, `${ECHO_LEAF}.key`),
    identityCert: (name) => join(dir, `${name}.crt`),
    identityKey: (name) => join(dir, `${name}.key`),
  };
}

interface Leaf {
  /** `server`, or the identity's name: what `--renew` names. */
  readonly name: string;
  readonly certPath: string;
  readonly keyPath: string;
  readonly spec: LeafSpec;
}

/** The NATS server's, http-echo's and every identity's certificate, as the configuration wants them. */
function leavesOf(config: Config, paths: PkiPaths): Leaf[] {
  const server: Leaf = {
    name: SERVER_LEAF,
    certPath: paths.serverCert,
    keyPath: paths.serverKey,
    spec: {
      commonName: SERVER_COMMON_NAME,
      dnsNames: unique(['localhost', ...natsServiceHostnames(config.nats), ...config.pki.server.extraDnsNames]),
      ips: unique(['127.0.0.1', ...config.pki.server.extraIps]),
      emails: [],
      usages: ['serverAuth'],
    },
  };
  const echo: Leaf = {
    name: ECHO_LEAF,
    certPath: paths.echoCert,
    keyPath: paths.echoKey,
    spec: {
      commonName: ECHO_COMMON_NAME,
      dnsNames: unique(config.echo.tls.hosts.filter((host) => isIP(host) === 0)),
      ips: unique(config.echo.tls.hosts.filter((host) => isIP(host) !== 0)),
      emails: [],
      usages: ['serverAuth'],
    },
  };
  const clients = config.pki.identities.map((identity): Leaf => ({
    name: identity.name,
    certPath: paths.identityCert(identity.name),
    keyPath: paths.identityKey(identity.name),
    spec: {
      commonName: identity.name,
      dnsNames: [],
      ips: [],
      emails: identity.email === undefined ? [] : [identity.email],
      usages: ['clientAuth'],
    },
  }));
  if (config.nats.replicas === 1) return [server, echo, ...clients];
  // A route both dials and accepts, so its certificate serves both ends of the mutual TLS.
  const route: Leaf = {
    name: ROUTE_LEAF,
    certPath: paths.routeCert,
    keyPath: paths.routeKey,
    spec: {
      commonName: ROUTE_COMMON_NAME,
      dnsNames: unique(['localhost', ...natsRouteHostnamesOf(config.nats)]),
      ips: ['127.0.0.1'],
      emails: [],
      usages: ['serverAuth', 'clientAuth'],
    },
  };
  return [server, route, echo, ...clients];
}

const unique = (values: string[]): string[] => [...new Set(values)];

function readIfExists(path: string): string | undefined {
  try {
    return readRegularFile(path, { what: 'the PKI file', fix: 'delete it to have it re-issued' });
  } catch (error) {
    if (error instanceof UserError) throw error;
    throw new PkiError(`cannot read ${displayPath(path)}: ${(error as Error).message}. Fix its permissions, or delete it to have it re-issued.`);
  }
}

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

interface LoadedCa extends ExistingCa {
  readonly x509: X509Certificate;
  readonly path: string;
}

/** Reads and checks the CA; undefined when neither file exists (a fresh clone). */
function loadCa(paths: PkiPaths, renewWithinDays: number, now: Date, log: (line: string) => void): LoadedCa | undefined {
  const certPem = readIfExists(paths.caCert);
  const keyPem = readIfExists(paths.caKey);
  if (certPem === undefined && keyPem === undefined) return undefined;
  const replace = `restore it from a backup, or run \`${FORCE_HINT}\` to create a new CA (every client then needs its new certificate).`;
  if (certPem === undefined) throw new PkiError(`${displayPath(paths.caCert)} is missing but ${displayPath(paths.caKey)} exists: ${replace}`);
  if (keyPem === undefined) throw new PkiError(`${displayPath(paths.caKey)} is missing but ${displayPath(paths.caCert)} exists: ${replace}`);

  const x509 = parseCert(paths.caCert, certPem, replace);
  const key = parseKey(paths.caKey, keyPem, replace);
  // Issuing signs with RSA (PKCS#1 v1.5) through node-forge, which reads RSA certificates only.
  if (key.asymmetricKeyType !== 'rsa') throw new PkiError(`${displayPath(paths.caKey)} is not an RSA key: ${replace}`);
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

/** Whether the leaf on disk can be reused, or why it must be re-issued. Damage is an error. */
function inspectLeaf(leaf: Leaf, ca: LoadedCa, config: Config, now: Date): Verdict {
  const { keyBits, renewWithinDays } = config.pki;
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
  if (expires.getTime() - now.getTime() <= renewWithinDays * DAY_MS) return { reuse: false, why: `it expires on ${cert.validTo}` };
  if (new Date(cert.validFrom) > now) return { reuse: false, why: `it is not valid before ${cert.validFrom}` };
  const sans = (cert.subjectAltName ?? '').split(', ').filter(Boolean).sort();
  if (sans.join(', ') !== expectedSans(leaf.spec).join(', ')) return { reuse: false, why: `its names (${sans.join(', ') || 'none'}) differ from the configuration` };
  if (cert.subject !== `CN=${leaf.spec.commonName}`) return { reuse: false, why: `its subject ${cert.subject.replace(/\n/g, ', ')} differs from CN=${leaf.spec.commonName}` };
  const usages = leaf.spec.usages.map((usage) => EKU_OID[usage]).sort().join();
  if (cert.ca || [...(cert.keyUsage ?? [])].sort().join() !== usages) return { reuse: false, why: `it is not a ${leaf.spec.usages.join(' + ')} certificate` };
  if (key.asymmetricKeyDetails?.modulusLength !== keyBits) return { reuse: false, why: `its key is not RSA ${keyBits}` };
  return { reuse: true, pair: { cert: certPem, key: keyPem } };
}

/** What the PKI folder may hold: certificates and keys, its git-ignore file, and temporary files of interrupted writes. */
const PKI_FILE = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?\.(crt|key)$/;
const GITIGNORE = '.gitignore';
/** Ignores everything in the folder, itself included: no key can become committable, wherever pki.dir points. */
const GITIGNORE_TEXT = '# Written by k3s-nats-tls: private keys never enter git.\n*\n';
const ownsPkiFile = (name: string, isDirectory: boolean): boolean =>
  !isDirectory && (PKI_FILE.test(name) || name === GITIGNORE || isTemporaryFile(name));

/**
 * Vets the PKI folder (inside the project, no links, nothing foreign), removes temporary files of
 * killed runs, and makes it private to its owner and git-ignored. The caller holds the project lock.
 */
function preparePkiFolder(root: string, config: Config, paths: PkiPaths): void {
  if (vetFolder({ root, path: paths.dir, folder: pkiDirSetting(config), owns: ownsPkiFile })) {
    for (const name of readdirSync(paths.dir).filter(isTemporaryFile)) rmSync(join(paths.dir, name));
  }
  makeFolder(root, paths.dir, DIR_MODE);
  const gitignore = join(paths.dir, GITIGNORE);
  if (readIfExists(gitignore) !== GITIGNORE_TEXT) writeFileAtomic(gitignore, GITIGNORE_TEXT, CERT_MODE);
}

/** Reused keys keep their bytes, but never stay readable by others. */
function keepKeyPrivate(path: string): void {
  if ((statSync(path).mode & 0o777) !== KEY_MODE) chmodSync(path, KEY_MODE);
}

function writePair(certPath: string, keyPath: string, pair: IssuedPair): void {
  writeFileAtomic(keyPath, pair.key, KEY_MODE);
  writeFileAtomic(certPath, pair.cert, CERT_MODE);
}

/** What a run decided: the CA to sign with (none: create one), the leaves to keep and those to issue. */
interface PkiPlan {
  readonly ca?: LoadedCa;
  readonly keep: ReadonlyArray<{ readonly leaf: Leaf; readonly pair: IssuedPair }>;
  readonly issue: readonly Leaf[];
}

function planPki(config: Config, paths: PkiPaths, options: EnsurePkiOptions, now: Date, log: (line: string) => void): PkiPlan {
  if (options.force) {
    // Gone before anything new is written: an interrupted --force then leaves no CA, and the next
    // run issues everything again instead of finding new leaves beside the old CA.
    rmSync(paths.caCert, { force: true });
    rmSync(paths.caKey, { force: true });
  }
  const ca = options.force ? undefined : loadCa(paths, config.pki.renewWithinDays, now, log);
  const leaves = leavesOf(config, paths);
  // Without a CA on disk the old leaves belong to no CA any more: issue them all.
  if (!ca) return { keep: [], issue: leaves };
  const keep: Array<{ leaf: Leaf; pair: IssuedPair }> = [];
  const issue: Leaf[] = [];
  const renew = new Set(options.renew ?? []);
  for (const leaf of leaves) {
    const verdict = inspectLeaf(leaf, ca, config, now);
    if (verdict.reuse && renew.has(leaf.name)) {
      log(`↻ re-issuing ${displayPath(leaf.certPath)}: renewal asked for`);
      issue.push(leaf);
    } else if (verdict.reuse) {
      keep.push({ leaf, pair: verdict.pair });
    } else {
      if (verdict.why) log(`↻ re-issuing ${displayPath(leaf.certPath)}: ${verdict.why}`);
      issue.push(leaf);
    }
  }
  return { ca, keep, issue };
}

/** Issues what the plan says and writes it: leaves first, the CA last. Returns every pair by certificate path. */
async function issueAndWrite(
  config: Config, paths: PkiPaths, plan: PkiPlan, now: Date, log: (line: string) => void,
): Promise<Map<string, IssuedPair>> {
  const pairs = new Map<string, IssuedPair>();
  if (plan.ca && plan.issue.length === 0) return pairs;
  const { keyBits, validityDays } = config.pki;
  const keys = generateRsaKeys(plan.issue.length + (plan.ca ? 0 : 1), keyBits);
  // Loaded while the keys are generated; a synchronous require keeps ensurePki's callers CommonJS-simple.
  const { issueCertificates } = require('./issue') as typeof import('./issue');
  const result = issueCertificates({
    ca: plan.ca, keys: await keys, caCommonName: CA_COMMON_NAME, leaves: plan.issue.map((leaf) => leaf.spec), validityDays, now,
  });
  // If this is interrupted before the CA is written, the next run finds no CA and issues everything
  // again instead of failing on leaves of an unknown CA.
  plan.issue.forEach((leaf, i) => {
    writePair(leaf.certPath, leaf.keyPath, result.leaves[i]);
    pairs.set(leaf.certPath, result.leaves[i]);
    log(`✔ issued ${displayPath(leaf.certPath)} (${describeSpec(leaf.spec)})`);
  });
  if (result.ca) {
    writePair(paths.caCert, paths.caKey, result.ca);
    pairs.set(paths.caCert, result.ca);
    log(`✔ issued ${displayPath(paths.caCert)} (new CA, ${validityDays} days)`);
  }
  return pairs;
}

/**
 * Makes `config.pki.dir` hold a CA, the NATS server and http-echo certificates and one client certificate per identity,
 * all valid and matching the configuration: reuses what is valid, re-issues a leaf that expires
 * within `renewWithinDays` or no longer matches, creates the CA only when there is none (or with
 * `force`). Throws PkiError on damaged or foreign material rather than replacing it silently.
 * The caller holds the project lock (lib/util/project-lock.ts) so that no other run changes the folder meanwhile.
 */
export async function ensurePki(config: Config, options: EnsurePkiOptions = {}): Promise<PkiResult> {
  const now = options.now ?? new Date();
  const log = options.log ?? (() => undefined);
  const root = options.baseDir ?? process.cwd();
  const paths = pkiPaths(config, root);
  checkRenewNames(config, options.renew ?? []);
  preparePkiFolder(root, config, paths);

  const plan = planPki(config, paths, options, now, log);
  if (plan.ca) keepKeyPrivate(paths.caKey);
  for (const { leaf } of plan.keep) keepKeyPrivate(leaf.keyPath);
  const issued = await issueAndWrite(config, paths, plan, now, log);

  // The PEMs this run checked or issued, never read back: another process cannot slip in between.
  const pairOf = (certPath: string) => issued.get(certPath) ?? plan.keep.find(({ leaf }) => leaf.certPath === certPath)?.pair;
  const server = pairOf(paths.serverCert)!;
  const filesOf = (certs: readonly string[]) => certs.flatMap((cert) => [cert, cert.replace(/\.crt$/, '.key')]);
  return {
    caCert: issued.get(paths.caCert)?.cert ?? plan.ca!.cert,
    serverCert: server.cert,
    serverKey: server.key,
    route: pairOf(paths.routeCert),
    echo: pairOf(paths.echoCert)!,
    paths,
    issued: filesOf([...issued.keys()]),
    reused: filesOf([...(plan.ca ? [paths.caCert] : []), ...plan.keep.map(({ leaf }) => leaf.certPath)]),
  };
}
/** Every name `--renew` accepts, for the error that lists them. */
function checkRenewNames(config: Config, names: readonly string[]): void {
  if (names.includes('ca')) {
    throw new PkiError(`cannot renew 'ca' alone: a new CA means new certificates for everyone — \`${FORCE_HINT}\` replaces them all (every client then needs its new files)`);
  }
  const known = [SERVER_LEAF, ...(config.nats.replicas > 1 ? [ROUTE_LEAF] : []), ECHO_LEAF, ...config.pki.identities.map(({ name }) => name)];
  const unknown = names.filter((name) => !known.includes(name));
  if (unknown.length > 0) {
    throw new PkiError(`cannot renew ${unknown.map((name) => `'${name}'`).join(', ')}: not a certificate of this configuration (known: ${known.join(', ')})`);
  }
}

/**
 * Certificates and keys in the PKI folder that belong to no identity of the configuration any
 * more (a removed identity): `npm run certs` reports them, `--prune` deletes exactly these.
 */
export function strayPkiFiles(config: Config, root: string): string[] {
  const paths = pkiPaths(config, root);
  if (!vetFolder({ root, path: paths.dir, folder: pkiDirSetting(config), owns: ownsPkiFile })) return [];
  const known = new Set(['ca', SERVER_LEAF, ROUTE_LEAF, ECHO_LEAF, ...config.pki.identities.map(({ name }) => name)]);
  return readdirSync(paths.dir).sort()
    .filter((name) => PKI_FILE.test(name) && !known.has(name.replace(/\.(crt|key)$/, '')))
    .map((name) => join(paths.dir, name));
}

/** Deletes the stray files `strayPkiFiles` finds; returns them. */
export function pruneStrayPkiFiles(config: Config, root: string): string[] {
  const stray = strayPkiFiles(config, root);
  for (const path of stray) rmSync(path);
  return stray;
}

function describeSpec(spec: LeafSpec): string {
  const names = [...spec.dnsNames, ...spec.ips, ...spec.emails];
  return `${spec.usages.join(' + ')}, CN=${spec.commonName}${names.length ? `, ${names.join(' ')}` : ''}`;
}

/** What `removePki` did: the files it deleted, and whether the folder itself is gone. */
export interface RemovedPki {
  readonly removed: string[];
  /** Files it left because the PKI of this configuration did not write them. */
  readonly kept: string[];
  readonly folderRemoved: boolean;
}

/**
 * Deletes exactly the files this configuration's PKI writes (CA, server, each identity, the
 * git-ignore file, temporary files of interrupted writes), then the folder if that left it empty.
 * Nothing is deleted recursively; anything else in the folder is kept and reported.
 */
export function removePki(config: Config, root: string): RemovedPki {
  const paths = pkiPaths(config, root);
  if (!vetFolder({ root, path: paths.dir, folder: pkiDirSetting(config), owns: ownsPkiFile })) return { removed: [], kept: [], folderRemoved: false };
  const ours = new Set([
    paths.caCert, paths.caKey, paths.serverCert, paths.serverKey, paths.routeCert, paths.routeKey, paths.echoCert, paths.echoKey,
    join(paths.dir, GITIGNORE),
    ...config.pki.identities.flatMap(({ name }) => [paths.identityCert(name), paths.identityKey(name)]),
  ]);
  const removed: string[] = [];
  const kept: string[] = [];
  for (const name of readdirSync(paths.dir).sort()) {
    const path = join(paths.dir, name);
    if (ours.has(path) || isTemporaryFile(name)) {
      rmSync(path);
      removed.push(path);
    } else {
      kept.push(path);
    }
  }
  if (kept.length === 0) rmdirSync(paths.dir);
  return { removed, kept, folderRemoved: kept.length === 0 };
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
