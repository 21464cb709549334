import { X509Certificate } from 'node:crypto';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { SERVER_LEAF } from '../pki/paths';
import { displayPath } from '../util/display-path';
import { UserError } from '../util/errors';
import type { VerifyOptions } from './options';

/** The keys folder verify connects with, read once, and the warnings for its certificates close to expiry. */

/** A certificate of the keys folder, parsed, with the command that re-issues it. */
interface KeyCertificate {
  readonly file: string;
  readonly x509: X509Certificate;
  readonly renew: string;
}

/** The key files, read once before any check so a file problem is one clear error. */
export interface KeyMaterial {
  readonly ca: string;
  readonly caCertificate: X509Certificate;
  readonly identities: ReadonlyMap<string, { readonly cert: string; readonly key: string }>;
  /** keys/server.crt, when the folder has one (a copy of client keys need not): what the server should present. */
  readonly serverCertificate?: X509Certificate;
  /** ca.crt, server.crt and every identity's certificate, for the expiry warnings. */
  readonly certificates: readonly KeyCertificate[];
}

const KEYS_FIX = 'point --keys (or pki.dir) at the folder holding ca.crt and <identity>.crt/.key';

function requireKeysFolder(dir: string): void {
  if (existsSync(dir) && !statSync(dir).isDirectory()) throw new UserError(`${displayPath(dir)} is a file, not a folder of keys: ${KEYS_FIX}`);
}

/** A missing key file is a setup mistake, not a failed check: say how to create it. */
function requireKeyFiles(files: readonly string[]): void {
  const missing = files.filter((file) => !existsSync(file));
  if (missing.length > 0) {
    throw new UserError(`missing ${missing.join(', ')}: run \`npm run synth\` (it creates the certificates in pki.dir) ` +
      'or point --keys at the folder holding them');
  }
}

function readKeyFile(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (error) {
    const { code } = error as NodeJS.ErrnoException;
    const why = code === 'EISDIR' ? 'it is a folder' : code === 'EACCES' || code === 'EPERM' ? 'permission denied' : (error as Error).message;
    throw new UserError(`cannot read ${displayPath(file)} (${why}): make it a file you can read, or ${KEYS_FIX}; ` +
      '`npm run certs` issues missing keys');
  }
}

function keyCertificate(file: string, pem: string, renew: string): KeyCertificate {
  try {
    return { file, x509: new X509Certificate(pem), renew };
  } catch {
    throw new UserError(`${displayPath(file)} is not a PEM certificate: run \`npm run certs\` (it says how to repair the folder), or ${KEYS_FIX}`);
  }
}

const CA_RENEWAL = '`npm run certs -- --force` (a new CA: every client then needs its new certificate)';
const SERVER_RENEWAL = `\`npm run certs -- --renew ${SERVER_LEAF}\`, then \`npx zx scripts/up.mjs\``;

export function loadKeyMaterial(options: VerifyOptions): KeyMaterial {
  const { keys, identities } = options;
  requireKeysFolder(keys.dir);
  requireKeyFiles([keys.caCert, ...identities.flatMap(({ name }) => [keys.identityCert(name), keys.identityKey(name)])]);
  const ca = readKeyFile(keys.caCert);
  const pairs = new Map(identities.map(({ name }) => [name, {
    cert: readKeyFile(keys.identityCert(name)),
    key: readKeyFile(keys.identityKey(name)),
  }]));
  const caCertificate = keyCertificate(keys.caCert, ca, CA_RENEWAL);
  const server = existsSync(keys.serverCert) ? keyCertificate(keys.serverCert, readKeyFile(keys.serverCert), SERVER_RENEWAL) : undefined;
  const clients = [...pairs].map(([name, { cert }]) => keyCertificate(keys.identityCert(name), cert, `\`npm run certs -- --renew ${name}\``));
  return {
    ca,
    caCertificate: caCertificate.x509,
    identities: pairs,
    serverCertificate: server?.x509,
    certificates: [caCertificate, ...(server ? [server] : []), ...clients],
  };
}

const DAY_MS = 24 * 60 * 60 * 1000;

function expiryWarning({ file, x509, renew }: KeyCertificate, renewWithinDays: number, now: Date): string | undefined {
  const expires = new Date(x509.validTo);
  if (expires.getTime() - now.getTime() > renewWithinDays * DAY_MS) return undefined;
  if (expires <= now) return `! ${displayPath(file)} expired on ${x509.validTo}: run ${renew}`;
  return `! ${displayPath(file)} expires on ${x509.validTo} (within pki.renewWithinDays, ${renewWithinDays} days): run ${renew}`;
}

/**
 * A `!` line for each certificate in the keys folder that expires within `renewWithinDays`, naming
 * the file, the date and the command that renews it. Not a failure: the deployment still works today.
 */
export function certificateWarnings(options: VerifyOptions, now = new Date()): string[] {
  return loadKeyMaterial(options).certificates.flatMap((certificate) => expiryWarning(certificate, options.renewWithinDays, now) ?? []);
}
