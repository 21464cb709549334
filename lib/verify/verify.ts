import { randomBytes, X509Certificate } from 'node:crypto';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { request as httpsRequest } from 'node:https';
import { resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { TLSSocket } from 'node:tls';
import { connect, errors, type NatsConnection, type NodeConnectionOptions } from '@nats-io/transport-node';
import { echoUrl, loadConfig, natsUrl, type Config, type Identity } from '../config/config';
import { probe } from '../nats/permissions';
import { permissionCases, type Access, type PermissionCase } from '../nats/subjects';
import { ECHO_LEAF, pkiFilesIn, SERVER_LEAF, type PkiPaths } from '../pki/pki';
import { type CommandSpec, UsageError } from '../util/cli';
import { displayPath } from '../util/display-path';
import { UserError } from '../util/errors';
import { describeProof, jetstreamIdentity, proveJetStream, type JetStreamProof } from './jetstream';
import { closingSockets, readGreeting, readServedCertificate, type FailedGreeting, type Greeting } from './probe';

/**
 * `npm run verify`: proves a running deployment behaves as configured — http-echo answers through
 * Traefik over HTTP, and over HTTPS with a certificate keys/ca.crt vouches for; every authorized identity can publish over mutual TLS (or, with permissions, is allowed
 * and refused exactly what they say), every other identity is refused by NATS authorization, a
 * client without a certificate is refused by TLS, and the server presents keys/server.crt. With
 * JetStream on, a throwaway stream replicated on nats.replicas servers proves the cluster (lib/verify/jetstream.ts).
 */

export interface VerifyOptions {
  readonly echoUrl: string;
  /** http-echo over HTTPS through Traefik's websecure entry point, trusted only through keys/ca.crt. */
  readonly httpsUrl: string;
  /** The Secret Traefik serves echo's certificate from (echo.tls.secretName), for the fix when it serves another. */
  readonly echoTlsSecret: string;
  readonly echoText: string;
  readonly natsUrl: string;
  /** ca.crt and <identity>.crt/.key, in --keys or pki.dir. */
  readonly keys: PkiPaths;
  readonly identities: readonly Identity[];
  /** nats.replicas and nats.jetstream.enabled: with either, a throwaway stream proves the cluster from the client side. */
  readonly replicas: number;
  readonly jetstream: boolean;
  /** A certificate in the keys folder this close to expiry gets a warning (pki.renewWithinDays). */
  readonly renewWithinDays: number;
  /** Bound on the whole run: checks retry while nothing answers, and report it once this has passed. */
  readonly timeoutMs: number;
}

export interface CheckResult {
  readonly check: string;
  /** The URL the check talked to. */
  readonly endpoint: string;
  readonly expected: string;
  readonly got: string;
  readonly ok: boolean;
  /** Failed because nothing answered before the deadline, rather than answering wrongly. */
  readonly unreachable: boolean;
  /** For a failed check whose reason lies beyond the row: what is wrong and what to do, for the summary. */
  readonly cause?: string;
  /** More than the table has room for, a line to print under it. */
  readonly detail?: string;
  readonly ms: number;
}

/** Traefik may answer 404 for a while after it is ready, so the default leaves it time to load its routes. */
export const DEFAULT_TIMEOUT_SECONDS = 60;

/** `npm run verify`'s flags; lib/util/cli.ts parses them (unknown flags, --help) like every command's. */
export const VERIFY_COMMAND: CommandSpec = {
  usage: 'npm run verify --',
  description: 'Proves the running deployment: http-echo through Traefik (HTTP, and HTTPS from our CA), and NATS over mutual\n' +
    'TLS admitting exactly the authorized identities with their permissions and presenting keys/server.crt; with JetStream,\n' +
    'a throwaway stream on nats.replicas servers. Exit 0: every check matched; 1: a\n' +
    'check failed (or the configuration or keys are unusable); 2: wrong flags.',
  flags: {
    'echo-url': { type: 'string', value: 'URL', help: 'http-echo through Traefik (default from cluster.ports.http.host)' },
    'https-url': { type: 'string', value: 'URL', help: 'http-echo over HTTPS, trusted only via ca.crt (default from cluster.ports.https.host)' },
    'nats-url': { type: 'string', value: 'URL', help: 'NATS through the NodePort mapping, tls://host:port (default from cluster.ports.nats.host)' },
    keys: { type: 'string', value: 'DIR', help: 'holds ca.crt and <identity>.crt/.key (default pki.dir); only read' },
    timeout: { type: 'string', value: 'SECONDS', help: `give up after this long while nothing answers (default ${DEFAULT_TIMEOUT_SECONDS})` },
  },
};

/** A flag's one value; a value of the wrong shape (a bare flag, a repeated one) is a usage mistake. */
function stringFlag(flags: Readonly<Record<string, unknown>>, flag: string): string | undefined {
  const value = flags[flag];
  if (value === undefined) return undefined;
  if (typeof value !== 'string' && typeof value !== 'number') throw new UsageError(`--${flag} needs exactly one value`);
  if (String(value) === '') throw new UsageError(`--${flag} needs exactly one value`);
  return String(value);
}

function checkedUrl(flag: string, text: string, protocols: readonly string[]): string {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new UsageError(`--${flag} '${text}' is not a URL: write it as ${protocols[0]}//host:port`);
  }
  if (!protocols.includes(url.protocol) || url.hostname === '') {
    throw new UsageError(`--${flag} '${text}' must be a ${protocols.join(' or ')}//host:port URL`);
  }
  return text;
}

/** Turns the command line into options over the configuration's defaults; throws UsageError naming the bad flag. */
export function verifyOptions(args: Readonly<Record<string, unknown>>, config: Config, cwd = process.cwd()): VerifyOptions {
  const timeoutText = stringFlag(args, 'timeout');
  const timeoutSeconds = timeoutText === undefined ? DEFAULT_TIMEOUT_SECONDS : Number(timeoutText);
  if (!Number.isFinite(timeoutSeconds) || timeoutSeconds <= 0) {
    throw new UsageError(`--timeout '${timeoutText}' must be a positive number of seconds`);
  }

  return {
    echoUrl: checkedUrl('echo-url', stringFlag(args, 'echo-url') ?? echoUrl(config.cluster), ['http:', 'https:']),
    httpsUrl: checkedUrl('https-url', stringFlag(args, 'https-url') ?? `https://localhost:${config.cluster.ports.https.host}`, ['https:']),
    echoTlsSecret: config.echo.tls.secretName,
    echoText: config.echo.text,
    natsUrl: checkedUrl('nats-url', stringFlag(args, 'nats-url') ?? natsUrl(config.cluster), ['tls:', 'nats:']),
    // Only read, never written: --keys may name any folder, e.g. a copy of another machine's keys.
    keys: pkiFilesIn(resolve(cwd, stringFlag(args, 'keys') ?? config.pki.dir)),
    identities: config.pki.identities,
    replicas: config.nats.replicas,
    jetstream: config.nats.jetstream.enabled,
    renewWithinDays: config.pki.renewWithinDays,
    timeoutMs: Math.round(timeoutSeconds * 1000),
  };
}

/** Options for the command line in `cwd`: the project's configuration with the flags over it. */
export function loadVerifyOptions(args: Readonly<Record<string, unknown>>, cwd = process.cwd()): VerifyOptions {
  return verifyOptions(args, loadConfig(cwd), cwd);
}

/** A certificate of the keys folder, parsed, with the command that re-issues it. */
interface KeyCertificate {
  readonly file: string;
  readonly x509: X509Certificate;
  readonly renew: string;
}

/** The key files, read once before any check so a file problem is one clear error. */
interface KeyMaterial {
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

function loadKeyMaterial(options: VerifyOptions): KeyMaterial {
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

/** Leaves room for one attempt even when the deadline has passed. */
const MIN_ATTEMPT_MS = 1000;
const RETRY_PAUSE_MS = 500;

const remainingMs = (deadline: number): number => Math.max(deadline - Date.now(), MIN_ATTEMPT_MS);
const seconds = (ms: number): string => `${(ms / 1000).toFixed(1)} s`;

/** One try of a check: `retry` while nothing answered; `got` is what the row and the progress lines show. */
interface Attempt {
  readonly retry: boolean;
  readonly got: string;
}

/** Retries `attempt` while it says so, until the deadline, telling `onRetry` why; returns the last outcome. */
async function withRetries<T extends Attempt>(deadline: number, attempt: () => Promise<T>, onRetry: (got: string) => void): Promise<T> {
  for (;;) {
    const outcome = await attempt();
    if (!outcome.retry || Date.now() + RETRY_PAUSE_MS >= deadline) return outcome;
    onRetry(outcome.got);
    await sleep(RETRY_PAUSE_MS);
  }
}

function networkProblem(error: unknown, ms: number): string | undefined {
  const code = (error as { code?: unknown }).code ?? (error as { cause?: { code?: unknown } }).cause?.code;
  switch (code) {
    case 'ECONNREFUSED': return 'nothing listening (connection refused)';
    case 'ECONNRESET': return 'connection reset before an answer';
    case 'ENOTFOUND': return 'host name does not resolve';
    case 'EHOSTUNREACH': case 'ENETUNREACH': return 'host unreachable';
    default: break;
  }
  if (error instanceof errors.TimeoutError || (error as Error).name === 'TimeoutError') return `no answer within ${seconds(ms)}`;
  return undefined;
}

const quoted = (text: string): string => JSON.stringify(text.length > 60 ? `${text.slice(0, 57)}...` : text);

/** http-echo answers a line; anything longer is not it, and need not be downloaded to know. */
const ECHO_BODY_LIMIT = 4 * 1024;

/** The body's first ECHO_BODY_LIMIT bytes, read from the stream, which is then cancelled. */
async function readBodyStart(response: Response): Promise<{ text: string; truncated: boolean }> {
  if (!response.body) return { text: '', truncated: false };
  const reader = response.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  try {
    while (size <= ECHO_BODY_LIMIT) {
      const { done, value } = (await reader.read()) as { done: boolean; value?: Uint8Array };
      if (done || !value) break;
      chunks.push(value);
      size += value.byteLength;
    }
  } finally {
    await reader.cancel().catch(() => undefined);
  }
  return { text: Buffer.concat(chunks).subarray(0, ECHO_BODY_LIMIT).toString('utf8'), truncated: size > ECHO_BODY_LIMIT };
}

interface EchoAttempt extends Attempt {
  readonly ok: boolean;
  readonly unreachable: boolean;
  readonly cause?: string;
}

async function attemptEcho(options: VerifyOptions, deadline: number): Promise<EchoAttempt> {
  const ms = remainingMs(deadline);
  try {
    const response = await fetch(options.echoUrl, { signal: AbortSignal.timeout(ms), redirect: 'manual' });
    const { text, truncated } = await readBodyStart(response);
    const status = `${response.status} ${response.statusText}`.trim();
    // Only a 200 is http-echo itself: Traefik answers 404 until its routes load.
    if (response.status !== 200) {
      const cause = `${options.echoUrl} answers ${status}, not http-echo: is it running, and does its Ingress route to it?`;
      return { retry: true, ok: false, unreachable: false, got: status, cause };
    }
    const body = text.trim();
    const got = `200 ${quoted(body)}${truncated ? ` (more than ${ECHO_BODY_LIMIT / 1024} KiB)` : ''}`;
    return { retry: false, ok: !truncated && body === options.echoText, unreachable: false, got };
  } catch (error) {
    const problem = networkProblem(error, ms);
    if (problem === undefined) return { retry: false, ok: false, unreachable: false, got: withCause(error) };
    return { retry: true, ok: false, unreachable: true, got: problem, cause: unreachableCause(options.echoUrl, problem) };
  }
}

/** fetch rejects with a bare "fetch failed" and the reason in `cause`, e.g. "bad port". */
function withCause(error: unknown): string {
  const { message, cause } = error as Error & { cause?: { message?: unknown } };
  return typeof cause?.message === 'string' ? `${message} (${cause.message})` : message;
}

const unreachableCause = (endpoint: string, problem: string): string =>
  `${endpoint} did not answer (${problem}): is that part of the deployment running, and is the port right?`;

async function checkEcho(options: VerifyOptions, deadline: number, progress: ProgressBoard): Promise<CheckResult> {
  const started = Date.now();
  const check = `echo ${options.echoUrl}`;
  progress.waiting(check, check);
  const outcome = await withRetries(deadline, () => attemptEcho(options, deadline), (got) => progress.waiting(check, check, got));
  const { got, ok, unreachable, cause } = outcome;
  const expected = `200 ${quoted(options.echoText)}`;
  return { check, endpoint: options.echoUrl, expected, got, ok, unreachable, cause: ok ? undefined : cause, ms: Date.now() - started };
}

/** What one HTTPS request came to: an answer over a connection our CA vouches for, a certificate it does not, or an error. */
type HttpsAnswer =
  | { readonly kind: 'answered'; readonly status: number; readonly statusText: string; readonly text: string; readonly truncated: boolean }
  | { readonly kind: 'untrusted'; readonly certificate?: X509Certificate; readonly reason: string }
  | { readonly kind: 'failed'; readonly error: unknown };

/**
 * GETs `url` trusting only `ca`, within `ms`, reading at most ECHO_BODY_LIMIT bytes. The handshake
 * does not reject an untrusted certificate itself, so that the answer can say whose it is.
 */
function httpsGet(url: string, ca: string, ms: number): Promise<HttpsAnswer> {
  return new Promise((resolve) => {
    let settled = false;
    const settle = (answer: HttpsAnswer): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      request.destroy();
      resolve(answer);
    };
    const timer = setTimeout(() => settle({ kind: 'failed', error: Object.assign(new Error('timed out'), { name: 'TimeoutError' }) }), ms);
    const request = httpsRequest(url, { ca, rejectUnauthorized: false, agent: false }, (response) => {
      const chunks: Buffer[] = [];
      let size = 0;
      const answered = (): void => settle({
        kind: 'answered', status: response.statusCode ?? 0, statusText: response.statusMessage ?? '',
        text: Buffer.concat(chunks).subarray(0, ECHO_BODY_LIMIT).toString('utf8'), truncated: size > ECHO_BODY_LIMIT,
      });
      response.on('data', (chunk: Buffer) => {
        chunks.push(chunk);
        size += chunk.byteLength;
        if (size > ECHO_BODY_LIMIT) answered();
      });
      response.on('end', answered);
      response.on('error', (error) => settle({ kind: 'failed', error }));
    });
    request.on('socket', (socket) => socket.once('secureConnect', () => {
      const secure = socket as TLSSocket;
      // Node has checked the chain against `ca` and the name against the URL's host by now.
      if (!secure.authorized) settle({ kind: 'untrusted', certificate: secure.getPeerX509Certificate(), reason: String(secure.authorizationError) });
    }));
    request.on('error', (error) => settle({ kind: 'failed', error }));
    request.end();
  });
}

/** The subject Traefik gives the self-signed certificate it serves while no Secret matches the host. */
const TRAEFIK_DEFAULT_SUBJECT = /CN=TRAEFIK DEFAULT CERT/i;

const commonName = (certificate: X509Certificate | undefined): string =>
  /(?:^|\n)CN=([^\n]*)/.exec(certificate?.subject ?? '')?.[1] ?? 'no common name';

function judgeUntrusted(options: VerifyOptions, certificate: X509Certificate | undefined, reason: string): EchoAttempt {
  const ca = displayPath(options.keys.caCert);
  if (TRAEFIK_DEFAULT_SUBJECT.test(certificate?.subject ?? '')) {
    // Traefik serves it until it has loaded the Secret the Ingress names: worth waiting for.
    return {
      retry: true, ok: false, unreachable: false, got: `Traefik's default certificate, not one from ${ca}`,
      cause: `Traefik serves its default certificate: is the ${options.echoTlsSecret} Secret applied? (npx zx scripts/up.mjs)`,
    };
  }
  if (FOREIGN_CA_CODES.has(reason)) {
    return {
      retry: false, ok: false, unreachable: false, got: `a certificate from another CA than ${ca} (CN=${commonName(certificate)})`,
      cause: `${options.httpsUrl} serves a certificate from another CA: the ${options.echoTlsSecret} Secret is from another PKI — ` +
        'run `npm run synth` and `npx zx scripts/up.mjs`',
    };
  }
  if (BAD_CERTIFICATE_CODES.has(reason)) {
    return {
      retry: false, ok: false, unreachable: false, got: `a certificate from our CA that is not valid here (${reason})`,
      cause: `echo's certificate does not fit ${options.httpsUrl}: name its host in echo.tls.hosts, run \`npm run certs -- --renew ${ECHO_LEAF}\` ` +
        'and `npx zx scripts/up.mjs`',
    };
  }
  return { retry: false, ok: false, unreachable: false, got: `certificate not trusted (${reason})` };
}

async function attemptHttps(options: VerifyOptions, ca: string, deadline: number): Promise<EchoAttempt> {
  const ms = remainingMs(deadline);
  const answer = await httpsGet(options.httpsUrl, ca, ms);
  switch (answer.kind) {
    case 'untrusted': return judgeUntrusted(options, answer.certificate, answer.reason);
    case 'failed': {
      const problem = networkProblem(answer.error, ms);
      if (problem !== undefined) {
        return { retry: true, ok: false, unreachable: true, got: problem, cause: unreachableCause(options.httpsUrl, problem) };
      }
      return { retry: false, ok: false, unreachable: false, got: `error: ${withCause(answer.error)}` };
    }
    case 'answered': {
      const status = `${answer.status} ${answer.statusText}`.trim();
      if (answer.status !== 200) {
        const cause = `${options.httpsUrl} answers ${status}, not http-echo: does its HTTPS Ingress route to it?`;
        return { retry: true, ok: false, unreachable: false, got: status, cause };
      }
      const body = answer.text.trim();
      const got = `200 ${quoted(body)}${answer.truncated ? ` (more than ${ECHO_BODY_LIMIT / 1024} KiB)` : ''} over TLS from our CA`;
      return { retry: false, ok: !answer.truncated && body === options.echoText, unreachable: false, got };
    }
  }
}

async function checkHttps(options: VerifyOptions, keys: KeyMaterial, deadline: number, progress: ProgressBoard): Promise<CheckResult> {
  const started = Date.now();
  const check = `echo ${options.httpsUrl}`;
  progress.waiting(check, check);
  const outcome = await withRetries(deadline, () => attemptHttps(options, keys.ca, deadline), (got) => progress.waiting(check, check, got));
  const { got, ok, unreachable, cause } = outcome;
  const expected = `200 ${quoted(options.echoText)} over TLS from our CA`;
  return { check, endpoint: options.httpsUrl, expected, got, ok, unreachable, cause: ok ? undefined : cause, ms: Date.now() - started };
}

/** What a NATS connection attempt came to, in the terms the expectations are written in. */
type NatsOutcome =
  | { kind: 'round-trip' }
  | { kind: 'admitted'; detail: string }
  | { kind: 'authorization-violation' }
  | { kind: 'server-error'; detail: string }
  | { kind: 'tls-refused'; detail: string }
  | { kind: 'no-tls' }
  | { kind: 'foreign-ca'; detail: string }
  | { kind: 'bad-certificate'; detail: string }
  | { kind: 'not-nats'; detail: string }
  | { kind: 'stalled'; detail: string }
  | { kind: 'unreachable'; detail: string }
  | { kind: 'error'; detail: string }
  /** Admitted, and each permission case tried on that connection, in order. */
  | { kind: 'probed'; results: readonly ProbeResult[] }
  /** The TLS handshake showed the server's certificate. */
  | { kind: 'served'; certificate: X509Certificate }
  /** Admitted, and the throwaway stream went as `proof` says. */
  | { kind: 'jetstream'; proof: JetStreamProof };

/** What the server did with one permission case, or why trying it failed. */
type ProbeResult = Access | { readonly error: string };

type ExpectedKind = 'round-trip' | 'authorization-violation' | 'tls-refused';

const EXPECTED_TEXT: Record<ExpectedKind, string> = {
  'round-trip': 'admitted: publishes and receives',
  'authorization-violation': 'refused: Authorization Violation',
  'tls-refused': 'refused by TLS handshake',
};

function describeOutcome(outcome: NatsOutcome, options: VerifyOptions): string {
  switch (outcome.kind) {
    case 'round-trip': return 'admitted: published and received';
    case 'admitted': return `admitted: ${outcome.detail}`;
    case 'authorization-violation': return 'refused: Authorization Violation';
    case 'server-error': return `server error: '${outcome.detail}'`;
    case 'tls-refused': return `refused by TLS handshake (${outcome.detail})`;
    case 'no-tls': return 'the server does not use TLS';
    case 'foreign-ca': return `server certificate from another CA than ${displayPath(options.keys.caCert)} (${outcome.detail})`;
    case 'bad-certificate': return `server certificate not valid here (${outcome.detail})`;
    case 'not-nats': return `no NATS greeting: ${outcome.detail}`;
    case 'stalled': return outcome.detail;
    case 'unreachable': return outcome.detail;
    case 'error': return `error: ${outcome.detail}`;
    case 'probed': return `admitted: tried ${outcome.results.length} permission rule(s)`;
    case 'served': return `presented SHA-256 ${outcome.certificate.fingerprint256}`;
    case 'jetstream': return describeProof(outcome.proof);
  }
}

const FOREIGN_CA_CAUSE = "the server presents a certificate from another CA: the cluster's Secret is from another PKI — " +
  'run `npm run synth` and `npx zx scripts/up.mjs`';

/** The reason behind a failed row and what to do, for the summary; undefined where the row says it all. */
function causeOf(outcome: NatsOutcome, options: VerifyOptions): string | undefined {
  const url = options.natsUrl;
  switch (outcome.kind) {
    case 'no-tls': return `the server at ${url} does not use TLS: is it our deployment? is the port right?`;
    case 'foreign-ca': return FOREIGN_CA_CAUSE;
    case 'bad-certificate': return `the server certificate is not valid for ${url}: ` +
      'run `npm run synth` (it re-issues an expired one, naming the hosts in pki.server) and `npx zx scripts/up.mjs`';
    case 'not-nats': return `what answers at ${url} is not a NATS server: is the port right?`;
    case 'stalled': return `the server at ${url} greets like NATS but does not finish connecting: look at its logs`;
    case 'unreachable': return unreachableCause(url, outcome.detail);
    default: return undefined;
  }
}

/** Node reports an alert the server sent as ERR_SSL_…_ALERT_…, e.g. `alert bad certificate` when a client has none. */
function tlsAlert(error: unknown): string | undefined {
  const { code, message } = error as { code?: unknown; message?: string };
  if (typeof code !== 'string' || !/^ERR_SSL_.*ALERT/.test(code)) return undefined;
  return /alert ([a-z ]+)/.exec(message ?? '')?.[0] ?? code;
}

/** Node's codes for a server certificate that no certificate in our ca.crt signed. */
const FOREIGN_CA_CODES = new Set([
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE', 'UNABLE_TO_GET_ISSUER_CERT', 'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'SELF_SIGNED_CERT_IN_CHAIN', 'DEPTH_ZERO_SELF_SIGNED_CERT', 'CERT_SIGNATURE_FAILURE',
]);
/** Node's codes for a certificate from our CA that is still not valid: expired, or not naming the host. */
const BAD_CERTIFICATE_CODES = new Set(['CERT_HAS_EXPIRED', 'CERT_NOT_YET_VALID', 'ERR_TLS_CERT_ALTNAME_INVALID']);

/** Only the server's exact wording counts as the refusal verify_and_map gives an unmapped identity. */
const AUTHORIZATION_VIOLATION = 'Authorization Violation';

/**
 * Node's words for a certificate error, without the hint Node 24 appends about the system CA store:
 * verify trusts keys/ca.crt alone, so that hint would send the user the wrong way.
 */
const certificateProblem = (error: unknown): string => (error as Error).message.replace(/; if the root CA is installed locally, .*$/, '');

function classifyTlsError(error: unknown): NatsOutcome | undefined {
  const alert = tlsAlert(error);
  if (alert) return { kind: 'tls-refused', detail: alert };
  const code = (error as { code?: unknown }).code;
  if (typeof code !== 'string') return undefined;
  if (FOREIGN_CA_CODES.has(code)) return { kind: 'foreign-ca', detail: certificateProblem(error) };
  if (BAD_CERTIFICATE_CODES.has(code)) return { kind: 'bad-certificate', detail: certificateProblem(error) };
  return undefined;
}

function classifyConnectError(error: unknown, ms: number): NatsOutcome {
  if (error instanceof errors.AuthorizationError) {
    return error.message === AUTHORIZATION_VIOLATION ? { kind: 'authorization-violation' } : { kind: 'server-error', detail: error.message };
  }
  const tls = classifyTlsError(error);
  if (tls) return tls;
  const problem = networkProblem(error, ms);
  if (problem) return { kind: 'unreachable', detail: problem };
  const { message } = error as Error;
  // nats.js checks the INFO's tls_required itself when the server changed since the greeting was read.
  if (error instanceof errors.ConnectionError && /does not support 'tls'/.test(message)) return { kind: 'no-tls' };
  if (error instanceof errors.ConnectionError) return { kind: 'unreachable', detail: `connection closed before NATS answered (${message})` };
  return { kind: 'error', detail: message ?? String(error) };
}

/** Why a greeting failed to come, worded like the other network problems. */
function greetingProblem(error: unknown, ms: number): string {
  if (error === undefined) return `no answer within ${seconds(ms)}`;
  return networkProblem(error, ms) ?? (error as Error).message;
}

/** What the greeting already decides; undefined when it is a NATS server offering TLS, to be connected to. */
function classifyGreeting(greeting: Greeting, ms: number): NatsOutcome | undefined {
  if (greeting.kind !== 'info') return greetingFailure(greeting, ms);
  const { tls_required: required, tls_available: available } = greeting.info;
  return required === true || available === true ? undefined : { kind: 'no-tls' };
}

function greetingFailure(greeting: FailedGreeting, ms: number): NatsOutcome {
  switch (greeting.kind) {
    case 'unreachable': return { kind: 'unreachable', detail: greetingProblem(greeting.error, ms) };
    case 'closed-silently': return { kind: 'unreachable', detail: 'connection closed before NATS answered' };
    case 'not-nats': return { kind: 'not-nats', detail: greeting.detail };
  }
}

/** Publishes on a fresh subject and waits for the server to deliver it back. */
async function roundTrip(nc: NatsConnection, label: string, ms: number): Promise<NatsOutcome> {
  const subject = `verify.${label}.${randomBytes(4).toString('hex')}`;
  const payload = `verify ${label} ${new Date().toISOString()}`;
  try {
    const received = new Promise<string>((resolveMessage, reject) => {
      nc.subscribe(subject, {
        max: 1,
        timeout: ms,
        callback: (error, message) => (error ? reject(error) : resolveMessage(message.string())),
      });
    });
    nc.publish(subject, payload);
    const text = await received;
    return text === payload ? { kind: 'round-trip' } : { kind: 'admitted', detail: `received ${quoted(text)} instead of its own message` };
  } catch (error) {
    return { kind: 'admitted', detail: `but its message did not come back (${(error as Error).message})` };
  }
}

/** Grace for nats.js's own connect timeout, so that the bound around it (which names the stall) fires first. */
const NATS_TIMEOUT_GRACE_MS = 1000;

/** How far one connection got, so that a stall is described for what it was. */
interface SessionStep {
  admitted: boolean;
}

/** One connection's work after the greeting, bounded by `ms`. */
type NatsSession = (ms: number, step: SessionStep) => Promise<NatsOutcome>;

/** Tries each permission case on the one connection, in order: the probes share its status events. */
async function tryPermissions(nc: NatsConnection, cases: readonly PermissionCase[]): Promise<NatsOutcome> {
  const results: ProbeResult[] = [];
  for (const { operation, subject } of cases) {
    results.push(await probe(nc, operation, subject).catch((error: unknown) => ({ error: (error as Error).message ?? String(error) })));
  }
  return { kind: 'probed', results };
}

async function connectAndTry(options: VerifyOptions, natsCase: NatsCase, ms: number, step: SessionStep): Promise<NatsOutcome> {
  let nc: NatsConnection;
  try {
    nc = await connect({
      servers: options.natsUrl, tls: natsCase.tls, timeout: ms + NATS_TIMEOUT_GRACE_MS, reconnect: false, name: `verify-${natsCase.label}`,
    });
  } catch (error) {
    return classifyConnectError(error, ms);
  }
  step.admitted = true;
  try {
    return natsCase.permissions ? await tryPermissions(nc, natsCase.permissions) : await roundTrip(nc, natsCase.label, ms);
  } finally {
    await nc.close();
  }
}

const DEFAULT_NATS_PORT = 4222;

function natsAddress(options: VerifyOptions): { host: string; port: number } {
  const url = new URL(options.natsUrl);
  return { host: url.hostname.replace(/^\[(.*)\]$/, '$1'), port: Number(url.port || DEFAULT_NATS_PORT) };
}

const stalledOutcome = (ms: number, step: SessionStep): NatsOutcome => ({
  kind: 'stalled',
  detail: step.admitted
    ? `connected, then the server did not answer within ${seconds(ms)}`
    : `the server sent its INFO, then did not finish the TLS handshake and CONNECT within ${seconds(ms)}`,
});

/** Reads the server's greeting first, so a silent, endless or plain-text server is named for what it is. */
async function attemptNats(options: VerifyOptions, deadline: number, session: NatsSession): Promise<NatsOutcome> {
  const { host, port } = natsAddress(options);
  const greetingMs = remainingMs(deadline);
  const refused = classifyGreeting(await readGreeting(host, port, greetingMs), greetingMs);
  if (refused) return refused;
  const ms = remainingMs(deadline);
  const step: SessionStep = { admitted: false };
  return closingSockets(ms, () => session(ms, step), () => stalledOutcome(ms, step));
}

/**
 * For a wrong answer that a configuration reload still on its way would explain, what the check
 * waits for: the cluster applies a changed Secret or ConfigMap a minute or so after `up` applied it.
 */
type ReloadPending = (outcome: NatsOutcome) => string | undefined;

/** Retries `session` while nothing answers, or a reload may be pending, until the deadline; returns its last outcome. */
async function retryNats(
  options: VerifyOptions, check: string, deadline: number, progress: ProgressBoard, session: NatsSession, pending: ReloadPending = () => undefined,
): Promise<NatsOutcome> {
  const target = `nats ${options.natsUrl}`;
  progress.waiting(check, target);
  const { outcome } = await withRetries(deadline, async () => {
    const outcome = await attemptNats(options, deadline, session);
    const reload = pending(outcome);
    return { retry: outcome.kind === 'unreachable' || reload !== undefined, got: reload ?? describeOutcome(outcome, options), outcome };
  }, (got) => progress.waiting(check, target, got));
  return outcome;
}

interface NatsCase {
  readonly check: string;
  readonly label: string;
  readonly expect: ExpectedKind;
  readonly tls: NonNullable<NodeConnectionOptions['tls']>;
  /** An identity with permissions: the cases to try once admitted, a row each, instead of the round trip. */
  readonly permissions?: readonly PermissionCase[];
}

function identityCase(identity: Identity, keys: KeyMaterial): NatsCase {
  const cases = identity.authorized && identity.permissions ? permissionCases(identity.permissions) : [];
  return {
    check: `nats ${identity.name} (${identity.authorized ? 'authorized' : 'not authorized'})`,
    label: identity.name,
    expect: identity.authorized ? 'round-trip' : 'authorization-violation',
    tls: { ...keys.identities.get(identity.name), ca: keys.ca },
    // Permissions that name no subject leave nothing to try: the round trip still proves admission.
    permissions: cases.length > 0 ? cases : undefined,
  };
}

function natsCases(options: VerifyOptions, keys: KeyMaterial): NatsCase[] {
  const cases = options.identities.map((identity) => identityCase(identity, keys));
  cases.push({ check: 'nats without client certificate', label: 'no-certificate', expect: 'tls-refused', tls: { ca: keys.ca } });
  return cases;
}

/** A table row before its endpoint, reachability and time are known. */
type Row = Pick<CheckResult, 'check' | 'expected' | 'got' | 'ok' | 'cause' | 'detail'>;

function identityRow(options: VerifyOptions, natsCase: NatsCase, outcome: NatsOutcome): Row {
  const ok = outcome.kind === natsCase.expect;
  const got = describeOutcome(outcome, options);
  return { check: natsCase.check, expected: EXPECTED_TEXT[natsCase.expect], got, ok, cause: ok ? undefined : causeOf(outcome, options) };
}

const accessText = ({ operation, subject }: PermissionCase, access: Access, seen = false): string =>
  `${operation} to ${subject} ${access === 'allowed' ? 'allowed' : seen ? 'refused (Permissions Violation)' : 'refused'}`;

const permissionsCause = (name: string): string =>
  `the server's permissions for ${name} differ from the configuration: run \`npx zx scripts/up.mjs\` to deploy them`;

/** A row per permission case; when the connection itself failed, each carries that failure. */
function permissionRows(options: VerifyOptions, natsCase: NatsCase, cases: readonly PermissionCase[], outcome: NatsOutcome): Row[] {
  return cases.map((permissionCase, index): Row => {
    const check = `nats ${natsCase.label} ${permissionCase.rule}`;
    const expected = accessText(permissionCase, permissionCase.expected);
    if (outcome.kind !== 'probed') return { check, expected, got: describeOutcome(outcome, options), ok: false, cause: causeOf(outcome, options) };
    const result = outcome.results[index];
    if (typeof result !== 'string') return { check, expected, got: `error: ${result.error}`, ok: false };
    const ok = result === permissionCase.expected;
    return { check, expected, got: accessText(permissionCase, result, true), ok, cause: ok ? undefined : permissionsCause(natsCase.label) };
  });
}

/** Permissions not (yet) as configured: the server may not have reloaded the ConfigMap `up` applied. */
const permissionsPending = (natsCase: NatsCase): ReloadPending => (outcome) => {
  if (outcome.kind !== 'probed' || !natsCase.permissions) return undefined;
  const wrong = natsCase.permissions.filter(({ expected }, index) => {
    const result = outcome.results[index];
    return typeof result === 'string' && result !== expected;
  });
  if (wrong.length === 0) return undefined;
  return `${natsCase.label}'s permissions not as configured yet: ${wrong.map(({ rule }) => rule).join(', ')}`;
};

async function checkNats(options: VerifyOptions, natsCase: NatsCase, deadline: number, progress: ProgressBoard): Promise<CheckResult[]> {
  const started = Date.now();
  const session: NatsSession = (ms, step) => connectAndTry(options, natsCase, ms, step);
  const outcome = await retryNats(options, natsCase.check, deadline, progress, session, permissionsPending(natsCase));
  const rows = natsCase.permissions ? permissionRows(options, natsCase, natsCase.permissions, outcome) : [identityRow(options, natsCase, outcome)];
  const ms = Date.now() - started;
  return rows.map((row) => ({ ...row, endpoint: options.natsUrl, unreachable: outcome.kind === 'unreachable', ms }));
}

const SERVED_CHECK = 'nats server certificate';
const OLDER_CERTIFICATE = 'the cluster still serves an older certificate: run up';

/** Any of our client certificates lets a server that requires one finish the handshake over TLS 1.2 too. */
async function servedCertificate(options: VerifyOptions, keys: KeyMaterial, ms: number, step: SessionStep): Promise<NatsOutcome> {
  const { host, port } = natsAddress(options);
  const [client] = keys.identities.values();
  const handshake = await readServedCertificate(host, port, { ca: keys.ca, ...client }, ms);
  switch (handshake.kind) {
    case 'certificate': return { kind: 'served', certificate: handshake.certificate };
    case 'no-info': return greetingFailure(handshake.greeting, ms);
    case 'failed': return classifyConnectError(handshake.error, ms);
    case 'timed-out': return stalledOutcome(ms, step);
  }
}

const shortFingerprint = (certificate: X509Certificate): string => `${certificate.fingerprint256.slice(0, 11)}…`;

/** Subject, names, expiry and fingerprint of what the server presents: the line under the table. */
const describeServed = (served: X509Certificate): string =>
  `${SERVED_CHECK}: subject ${served.subject.replace(/\n/g, ', ')}; SANs ${served.subjectAltName ?? 'none'}; ` +
  `not after ${served.validTo}; SHA-256 ${served.fingerprint256}`;

/** keys/server.crt byte for byte (same fingerprint); another from our CA; one from another CA; or nothing to compare with. */
type Served = 'same' | 'another' | 'foreign-ca' | 'unchecked';

function compareServed(served: X509Certificate, keys: KeyMaterial): Served {
  const ours = keys.serverCertificate;
  if (ours && served.fingerprint256 === ours.fingerprint256) return 'same';
  if (!served.checkIssued(keys.caCertificate) || !served.verify(keys.caCertificate.publicKey)) return 'foreign-ca';
  return ours ? 'another' : 'unchecked';
}

function judgeServed(served: X509Certificate, options: VerifyOptions, keys: KeyMaterial): Omit<Row, 'check' | 'expected'> {
  const detail = describeServed(served);
  const file = displayPath(options.keys.serverCert);
  switch (compareServed(served, keys)) {
    case 'same': return { got: `the same (SHA-256 ${shortFingerprint(served)})`, ok: true, detail };
    case 'unchecked': return { got: `SHA-256 ${shortFingerprint(served)}`, ok: true, detail };
    case 'foreign-ca':
      return { got: `a certificate from another CA than ${displayPath(options.keys.caCert)}`, ok: false, cause: FOREIGN_CA_CAUSE, detail };
    case 'another': return {
      got: `${OLDER_CERTIFICATE} (npx zx scripts/up.mjs)`,
      ok: false,
      cause: `${OLDER_CERTIFICATE} (\`npx zx scripts/up.mjs\`) so that it presents ${file}`,
      detail: `${detail}; ${file} has SHA-256 ${keys.serverCertificate?.fingerprint256}`,
    };
  }
}

/** Another certificate from our CA: the server may not have reloaded the Secret `up` applied. */
const servedPending = (options: VerifyOptions, keys: KeyMaterial): ReloadPending => (outcome) =>
  (outcome.kind === 'served' && compareServed(outcome.certificate, keys) === 'another'
    ? `the server still presents another certificate than ${displayPath(options.keys.serverCert)}`
    : undefined);

async function checkServedCertificate(options: VerifyOptions, keys: KeyMaterial, deadline: number, progress: ProgressBoard): Promise<CheckResult[]> {
  const started = Date.now();
  const session: NatsSession = (ms, step) => servedCertificate(options, keys, ms, step);
  const outcome = await retryNats(options, SERVED_CHECK, deadline, progress, session, servedPending(options, keys));
  const verdict = outcome.kind === 'served'
    ? judgeServed(outcome.certificate, options, keys)
    : { got: describeOutcome(outcome, options), ok: false, cause: causeOf(outcome, options) };
  const file = displayPath(options.keys.serverCert);
  const expected = keys.serverCertificate ? `the same as ${file}` : `any (no ${file} to compare with)`;
  const unreachable = outcome.kind === 'unreachable';
  return [{ check: SERVED_CHECK, endpoint: options.natsUrl, expected, ...verdict, unreachable, ms: Date.now() - started }];
}

const JETSTREAM_CHECK = 'nats jetstream stream';

const plural = (count: number, noun: string): string => `${count} ${noun}${count === 1 ? '' : 's'}`;

/** A stream still on its way: JetStream may be off until the servers restart with it, or still electing a leader. */
const jetstreamPending: ReloadPending = (outcome) => {
  if (outcome.kind !== 'jetstream') return undefined;
  const { proof } = outcome;
  if (proof.kind === 'not-enabled') return 'JetStream is not enabled on the server yet';
  return proof.kind === 'failed' && proof.retry && !proof.leftover ? describeProof(proof) : undefined;
};

function jetstreamVerdict(outcome: NatsOutcome, options: VerifyOptions, replicas: number): Omit<Row, 'check' | 'expected'> {
  if (outcome.kind !== 'jetstream') return { got: describeOutcome(outcome, options), ok: false, cause: causeOf(outcome, options) };
  const { proof } = outcome;
  const got = describeProof(proof);
  switch (proof.kind) {
    case 'proved': {
      const ok = proof.peers.length === replicas;
      const cause = `the stream has ${plural(proof.peers.length, 'peer')}, not nats.replicas (${replicas}): are all servers up?`;
      return { got, ok, cause: ok ? undefined : cause };
    }
    case 'not-enabled': return {
      got, ok: false, cause: 'nats.jetstream.enabled is true, but the server runs without JetStream: deploy it with `npx zx scripts/up.mjs`',
    };
    case 'failed': return {
      got, ok: false, cause: proof.leftover ? `stream ${proof.leftover} is left over: delete it (nats stream rm ${proof.leftover})` : undefined,
    };
  }
}

/**
 * With nats.replicas > 1 or JetStream on: a throwaway stream as the first identity allowed to use
 * the JetStream API. Without JetStream (a cluster configured without it) or without such an identity
 * the row passes as not applicable and says why: nothing on the client side can prove more there.
 */
async function checkJetStream(options: VerifyOptions, keys: KeyMaterial, deadline: number, progress: ProgressBoard): Promise<CheckResult[]> {
  const started = Date.now();
  const replicas = options.replicas;
  const expected = `a stream on ${plural(replicas, 'peer')}: stored, read back, deleted`;
  const identity = jetstreamIdentity(options.identities);
  const skipped = (why: string): CheckResult[] =>
    [{ check: JETSTREAM_CHECK, endpoint: options.natsUrl, expected, got: `not applicable: ${why}`, ok: true, unreachable: false, ms: 0 }];
  if (!options.jetstream) return skipped('nats.jetstream.enabled is false, so there is no stream to replicate');
  if (!identity) return skipped('no authorized identity may use the JetStream API ($JS.API.>) and its replies (_INBOX.>)');
  const tls = { ...keys.identities.get(identity.name), ca: keys.ca };
  const session: NatsSession = async (ms, step) => {
    let nc: NatsConnection;
    try {
      nc = await connect({ servers: options.natsUrl, tls, timeout: ms + NATS_TIMEOUT_GRACE_MS, reconnect: false, name: 'verify-jetstream' });
    } catch (error) {
      return classifyConnectError(error, ms);
    }
    step.admitted = true;
    try {
      return { kind: 'jetstream', proof: await proveJetStream(nc, replicas, ms) };
    } finally {
      await nc.close();
    }
  };
  const check = `${JETSTREAM_CHECK} (as ${identity.name})`;
  const outcome = await retryNats(options, check, deadline, progress, session, jetstreamPending);
  progress.done(check);
  const verdict = jetstreamVerdict(outcome, options, replicas);
  return [{ check, endpoint: options.natsUrl, expected, ...verdict, unreachable: outcome.kind === 'unreachable', ms: Date.now() - started }];
}

/** Checks still retrying, each under the endpoint it waits for and the last reason it failed. */
export interface VerifyProgress {
  readonly elapsedMs: number;
  readonly waiting: ReadonlyArray<{ readonly check: string; readonly target: string; readonly reason: string }>;
}

export interface ProgressOptions {
  readonly onProgress?: (progress: VerifyProgress) => void;
  /** Default: every 5 s. */
  readonly everyMs?: number;
}

/** Often enough that a 60 s wait does not look like a hang, rarely enough to stay readable. */
const PROGRESS_EVERY_MS = 5000;

/** What each unfinished check last saw; reports it every `everyMs` while some wait. */
class ProgressBoard {
  private readonly board = new Map<string, { target: string; reason: string }>();
  private readonly timer?: NodeJS.Timeout;

  constructor(started: number, { onProgress, everyMs = PROGRESS_EVERY_MS }: ProgressOptions) {
    if (!onProgress) return;
    this.timer = setInterval(() => {
      const waiting = [...this.board].map(([check, { target, reason }]) => ({ check, target, reason }));
      if (waiting.length > 0) onProgress({ elapsedMs: Date.now() - started, waiting });
    }, everyMs);
  }

  waiting(check: string, target: string, reason = 'no answer yet'): void {
    this.board.set(check, { target, reason });
  }

  done(check: string): void {
    this.board.delete(check);
  }

  stop(): void {
    clearInterval(this.timer);
  }
}

/** One progress line: `… 12 s: still waiting for echo http://… — nothing listening (…); nats tls://… (3 checks) — …`. */
export function formatProgress(progress: VerifyProgress): string {
  const byTarget = new Map<string, { checks: number; reasons: Set<string> }>();
  for (const { target, reason } of progress.waiting) {
    const entry = byTarget.get(target) ?? { checks: 0, reasons: new Set<string>() };
    entry.checks += 1;
    entry.reasons.add(reason);
    byTarget.set(target, entry);
  }
  const parts = [...byTarget].map(([target, { checks, reasons }]) =>
    `${target}${checks > 1 ? ` (${checks} checks)` : ''} — ${[...reasons].join(' / ')}`);
  return `… ${Math.round(progress.elapsedMs / 1000)} s: still waiting for ${parts.join('; ')}`;
}

/**
 * Runs every check at once against one deadline, so the whole run takes about `timeoutMs` at most
 * whatever answers (or does not). `onResult` sees each result as it completes; `progress.onProgress`
 * hears which checks are still retrying, and why; the returned list is in table order.
 */
export async function runVerify(
  options: VerifyOptions, onResult: (result: CheckResult) => void = () => {}, progress: ProgressOptions = {},
): Promise<CheckResult[]> {
  const keys = loadKeyMaterial(options);
  const started = Date.now();
  const deadline = started + options.timeoutMs;
  const board = new ProgressBoard(started, progress);
  const report = (check: string) => (results: CheckResult[]): CheckResult[] => {
    board.done(check);
    results.forEach(onResult);
    return results;
  };
  try {
    const rows = await Promise.all([
      checkEcho(options, deadline, board).then((result) => report(result.check)([result])),
      checkHttps(options, keys, deadline, board).then((result) => report(result.check)([result])),
      ...natsCases(options, keys).map((natsCase) => checkNats(options, natsCase, deadline, board).then(report(natsCase.check))),
      checkServedCertificate(options, keys, deadline, board).then(report(SERVED_CHECK)),
      ...(options.replicas > 1 || options.jetstream ? [checkJetStream(options, keys, deadline, board).then(report(JETSTREAM_CHECK))] : []),
    ]);
    return rows.flat();
  } finally {
    board.stop();
  }
}

const formatMs = (ms: number): string => (ms < 1000 ? `${ms} ms` : seconds(ms));

/** A plain-text table: check, expected, got, time; a mark in front says whether they matched. */
export function formatTable(results: readonly CheckResult[]): string {
  const header = ['  check', 'expected', 'got', 'time'];
  const rows = results.map((r) => [`${r.ok ? '✔' : '✖'} ${r.check}`, r.expected, r.got, formatMs(r.ms)]);
  const widths = header.map((title, column) => Math.max(title.length, ...rows.map((row) => row[column].length)));
  const line = (cells: readonly string[]) => cells.map((cell, column) => cell.padEnd(widths[column])).join('  ').trimEnd();
  return [header, ...rows].map(line).join('\n');
}

/** Failed checks grouped by their cause, in table order: `a, b — cause; c`. */
function failuresByCause(failed: readonly CheckResult[]): string {
  const groups = new Map<string | undefined, string[]>();
  for (const result of failed) groups.set(result.cause, [...(groups.get(result.cause) ?? []), result.check]);
  return [...groups].map(([cause, checks]) => `${checks.join(', ')}${cause ? ` — ${cause}` : ''}`).join('; ');
}

/** One line saying what the results mean and what to do next. */
export function summarize(results: readonly CheckResult[], options: VerifyOptions): string {
  const failed = results.filter((r) => !r.ok);
  if (failed.length === 0) return `all ${results.length} checks passed: the deployment behaves as configured`;
  if (results.every((r) => r.unreachable)) {
    const endpoints = [...new Set(failed.map((r) => r.endpoint))].join(' and ');
    return `nothing answered within ${options.timeoutMs / 1000} s at ${endpoints}: is the cluster up? (npx zx scripts/up.mjs), ` +
      'or pass --timeout for a slower start';
  }
  return `${failed.length} of ${results.length} checks failed: ${failuresByCause(failed)}`;
}
