import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { connect, errors, type NatsConnection, type NodeConnectionOptions } from '@nats-io/transport-node';
import { echoUrl, loadConfig, natsUrl, type Config, type Identity } from './config';
import { UserError } from './errors';
import { pkiPaths, type PkiPaths } from './pki';

/**
 * `npm run verify`: proves a running deployment behaves as configured — http-echo answers through
 * Traefik, every authorized identity can publish over mutual TLS, every other identity is refused
 * by NATS authorization, and a client without a certificate is refused by TLS.
 */

export interface VerifyOptions {
  readonly echoUrl: string;
  readonly echoText: string;
  readonly natsUrl: string;
  /** ca.crt and <identity>.crt/.key, in --keys or pki.dir. */
  readonly keys: PkiPaths;
  readonly identities: readonly Identity[];
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
  readonly ms: number;
}

/** Traefik may answer 404 for a while after it is ready, so the default leaves it time to load its routes. */
export const DEFAULT_TIMEOUT_SECONDS = 60;

/** Wrong flags: the entry point prints the message with the usage and exits 2, unlike a failed check (1). */
export class UsageError extends UserError {}

export const VERIFY_USAGE = `Usage: npm run verify -- [--echo-url URL] [--nats-url URL] [--keys DIR] [--timeout SECONDS]
  --echo-url URL       http-echo through Traefik (default from cluster.ports.http.host)
  --nats-url URL       NATS through the NodePort mapping, tls://host:port (default from cluster.ports.nats.host)
  --keys DIR           holds ca.crt and <identity>.crt/.key (default pki.dir)
  --timeout SECONDS    give up after this long while nothing answers (default ${DEFAULT_TIMEOUT_SECONDS})`;

const FLAGS = ['echo-url', 'nats-url', 'keys', 'timeout', 'help'] as const;

/** Parsed command line as zx's `argv` (minimist) hands it over. */
export interface ParsedArgs {
  readonly _: readonly unknown[];
  readonly [flag: string]: unknown;
}

function stringFlag(args: ParsedArgs, flag: string): string | undefined {
  const value = args[flag];
  if (value === undefined) return undefined;
  // minimist turns a flag without a value into `true` and a repeated flag into an array.
  if (typeof value === 'boolean' || Array.isArray(value) || String(value) === '') {
    throw new UsageError(`--${flag} needs exactly one value`);
  }
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
export function verifyOptions(args: ParsedArgs, config: Config, cwd = process.cwd()): VerifyOptions {
  const unknown = Object.keys(args).filter((key) => key !== '_' && key !== '--' && !(FLAGS as readonly string[]).includes(key));
  if (unknown.length > 0) throw new UsageError(`unknown flag(s) ${unknown.map((key) => `--${key}`).join(', ')}`);
  if (args._.length > 0) throw new UsageError(`unexpected argument(s) ${args._.map((arg) => `'${String(arg)}'`).join(', ')}: every value follows its flag`);

  const timeoutText = stringFlag(args, 'timeout');
  const timeoutSeconds = timeoutText === undefined ? DEFAULT_TIMEOUT_SECONDS : Number(timeoutText);
  if (!Number.isFinite(timeoutSeconds) || timeoutSeconds <= 0) {
    throw new UsageError(`--timeout '${timeoutText}' must be a positive number of seconds`);
  }

  return {
    echoUrl: checkedUrl('echo-url', stringFlag(args, 'echo-url') ?? echoUrl(config.cluster), ['http:', 'https:']),
    echoText: config.echo.text,
    natsUrl: checkedUrl('nats-url', stringFlag(args, 'nats-url') ?? natsUrl(config.cluster), ['tls:', 'nats:']),
    keys: pkiPaths({ ...config, pki: { ...config.pki, dir: stringFlag(args, 'keys') ?? config.pki.dir } }, cwd),
    identities: config.pki.identities,
    timeoutMs: Math.round(timeoutSeconds * 1000),
  };
}

/** Options for the command line in `cwd`: the project's configuration with the flags over it. */
export function loadVerifyOptions(args: ParsedArgs, cwd = process.cwd()): VerifyOptions {
  return verifyOptions(args, loadConfig(cwd), cwd);
}

/** A missing key file is a setup mistake, not a failed check: say how to create it. */
function requireKeyFiles(options: VerifyOptions): void {
  const { keys } = options;
  const needed = [keys.caCert, ...options.identities.flatMap(({ name }) => [keys.identityCert(name), keys.identityKey(name)])];
  const missing = needed.filter((file) => !existsSync(file));
  if (missing.length > 0) {
    throw new UserError(`missing ${missing.join(', ')}: run \`npm run synth\` (it creates the certificates in pki.dir) or point --keys at the folder holding them`);
  }
}

/** Leaves room for one attempt even when the deadline has passed. */
const MIN_ATTEMPT_MS = 1000;
const RETRY_PAUSE_MS = 500;

const remainingMs = (deadline: number): number => Math.max(deadline - Date.now(), MIN_ATTEMPT_MS);

/** Retries `attempt` while it says so, until the deadline; returns the last outcome. */
async function withRetries<T extends { retry: boolean }>(deadline: number, attempt: () => Promise<T>): Promise<T> {
  for (;;) {
    const outcome = await attempt();
    if (!outcome.retry || Date.now() + RETRY_PAUSE_MS >= deadline) return outcome;
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
  if (error instanceof errors.TimeoutError || (error as Error).name === 'TimeoutError') return `no answer within ${(ms / 1000).toFixed(1)} s`;
  return undefined;
}

const quoted = (text: string): string => JSON.stringify(text.length > 60 ? `${text.slice(0, 57)}...` : text);

async function checkEcho(options: VerifyOptions, deadline: number): Promise<CheckResult> {
  const started = Date.now();
  const expected = `200 ${quoted(options.echoText)}`;
  const outcome = await withRetries(deadline, async () => {
    const ms = remainingMs(deadline);
    try {
      const response = await fetch(options.echoUrl, { signal: AbortSignal.timeout(ms), redirect: 'manual' });
      const body = (await response.text()).trim();
      // Only a 200 is http-echo itself: Traefik answers 404 until its routes load.
      if (response.status !== 200) return { retry: true, ok: false, unreachable: false, got: `${response.status} ${response.statusText}`.trim() };
      return { retry: false, ok: body === options.echoText, unreachable: false, got: `200 ${quoted(body)}` };
    } catch (error) {
      const problem = networkProblem(error, ms);
      return { retry: problem !== undefined, ok: false, unreachable: problem !== undefined, got: problem ?? (error as Error).message };
    }
  });
  const { got, ok, unreachable } = outcome;
  return { check: `echo ${options.echoUrl}`, endpoint: options.echoUrl, expected, got, ok, unreachable, ms: Date.now() - started };
}

/** What a NATS connection attempt came to, in the terms the expectations are written in. */
type NatsOutcome =
  | { kind: 'round-trip' }
  | { kind: 'admitted'; detail: string }
  | { kind: 'authorization-violation' }
  | { kind: 'tls-refused'; detail: string }
  | { kind: 'tls-untrusted'; detail: string }
  | { kind: 'unreachable'; detail: string }
  | { kind: 'error'; detail: string };

type ExpectedKind = 'round-trip' | 'authorization-violation' | 'tls-refused';

const EXPECTED_TEXT: Record<ExpectedKind, string> = {
  'round-trip': 'admitted: publishes and receives',
  'authorization-violation': 'refused: Authorization Violation',
  'tls-refused': 'refused by TLS handshake',
};

function describeOutcome(outcome: NatsOutcome): string {
  switch (outcome.kind) {
    case 'round-trip': return 'admitted: published and received';
    case 'admitted': return `admitted: ${outcome.detail}`;
    case 'authorization-violation': return 'refused: Authorization Violation';
    case 'tls-refused': return `refused by TLS handshake (${outcome.detail})`;
    case 'tls-untrusted': return `TLS error: server certificate not trusted (${outcome.detail})`;
    case 'unreachable': return outcome.detail;
    case 'error': return `error: ${outcome.detail}`;
  }
}

/** Node reports an alert the server sent as ERR_SSL_…_ALERT_…, e.g. `alert bad certificate` when a client has none. */
function tlsAlert(error: unknown): string | undefined {
  const { code, message } = error as { code?: unknown; message?: string };
  if (typeof code !== 'string' || !/^ERR_SSL_.*ALERT/.test(code)) return undefined;
  return /alert ([a-z ]+)/.exec(message ?? '')?.[0] ?? code;
}

/** Node's codes for a server certificate our CA does not vouch for (or that does not name the host). */
const UNTRUSTED_CODES = new Set([
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE', 'UNABLE_TO_GET_ISSUER_CERT_LOCALLY', 'SELF_SIGNED_CERT_IN_CHAIN',
  'DEPTH_ZERO_SELF_SIGNED_CERT', 'CERT_HAS_EXPIRED', 'CERT_NOT_YET_VALID', 'ERR_TLS_CERT_ALTNAME_INVALID',
]);

function classifyConnectError(error: unknown, ms: number): NatsOutcome {
  if (error instanceof errors.AuthorizationError) {
    return /authorization violation/i.test(error.message) ? { kind: 'authorization-violation' } : { kind: 'error', detail: error.message };
  }
  const alert = tlsAlert(error);
  if (alert) return { kind: 'tls-refused', detail: alert };
  const code = (error as { code?: unknown }).code;
  if (typeof code === 'string' && UNTRUSTED_CODES.has(code)) return { kind: 'tls-untrusted', detail: (error as Error).message };
  const problem = networkProblem(error, ms);
  if (problem) return { kind: 'unreachable', detail: problem };
  // nats.js wraps a connection the other side closed before speaking in a ConnectionError without a cause.
  if (error instanceof errors.ConnectionError) return { kind: 'unreachable', detail: `connection closed before NATS answered (${error.message})` };
  return { kind: 'error', detail: (error as Error).message ?? String(error) };
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

async function attemptNats(options: VerifyOptions, label: string, tls: NonNullable<NodeConnectionOptions['tls']>, deadline: number): Promise<NatsOutcome> {
  const ms = remainingMs(deadline);
  let nc: NatsConnection;
  try {
    nc = await connect({ servers: options.natsUrl, tls, timeout: ms, reconnect: false, name: `verify-${label}` });
  } catch (error) {
    return classifyConnectError(error, ms);
  }
  try {
    return await roundTrip(nc, label, ms);
  } finally {
    await nc.close();
  }
}

interface NatsCase {
  readonly check: string;
  readonly label: string;
  readonly expect: ExpectedKind;
  readonly tls: NonNullable<NodeConnectionOptions['tls']>;
}

function natsCases(options: VerifyOptions): NatsCase[] {
  const { keys } = options;
  const cases: NatsCase[] = options.identities.map((identity) => ({
    check: `nats ${identity.name} (${identity.authorized ? 'authorized' : 'not authorized'})`,
    label: identity.name,
    expect: identity.authorized ? 'round-trip' : 'authorization-violation',
    tls: { certFile: keys.identityCert(identity.name), keyFile: keys.identityKey(identity.name), caFile: keys.caCert },
  }));
  cases.push({ check: 'nats without client certificate', label: 'no-certificate', expect: 'tls-refused', tls: { caFile: keys.caCert } });
  return cases;
}

async function checkNats(options: VerifyOptions, natsCase: NatsCase, deadline: number): Promise<CheckResult> {
  const started = Date.now();
  const outcome = await withRetries(deadline, async () => {
    const result = await attemptNats(options, natsCase.label, natsCase.tls, deadline);
    return { retry: result.kind === 'unreachable', result };
  });
  return {
    check: natsCase.check,
    endpoint: options.natsUrl,
    expected: EXPECTED_TEXT[natsCase.expect],
    got: describeOutcome(outcome.result),
    ok: outcome.result.kind === natsCase.expect,
    unreachable: outcome.result.kind === 'unreachable',
    ms: Date.now() - started,
  };
}

/**
 * Runs every check at once against one deadline, so the whole run takes about `timeoutMs` at most
 * even when nothing listens. `onResult` sees each result as it completes; the returned list is in
 * table order.
 */
export async function runVerify(options: VerifyOptions, onResult: (result: CheckResult) => void = () => {}): Promise<CheckResult[]> {
  requireKeyFiles(options);
  const deadline = Date.now() + options.timeoutMs;
  const report = (result: CheckResult): CheckResult => {
    onResult(result);
    return result;
  };
  return Promise.all([
    checkEcho(options, deadline).then(report),
    ...natsCases(options).map((natsCase) => checkNats(options, natsCase, deadline).then(report)),
  ]);
}

const formatMs = (ms: number): string => (ms < 1000 ? `${ms} ms` : `${(ms / 1000).toFixed(1)} s`);

/** A plain-text table: check, expected, got, time; a mark in front says whether they matched. */
export function formatTable(results: readonly CheckResult[]): string {
  const header = ['  check', 'expected', 'got', 'time'];
  const rows = results.map((r) => [`${r.ok ? '✔' : '✖'} ${r.check}`, r.expected, r.got, formatMs(r.ms)]);
  const widths = header.map((title, column) => Math.max(title.length, ...rows.map((row) => row[column].length)));
  const line = (cells: readonly string[]) => cells.map((cell, column) => cell.padEnd(widths[column])).join('  ').trimEnd();
  return [header, ...rows].map(line).join('\n');
}

/** One line saying what the results mean and what to do next. */
export function summarize(results: readonly CheckResult[], options: VerifyOptions): string {
  const failed = results.filter((r) => !r.ok);
  if (failed.length === 0) return `all ${results.length} checks passed: the deployment behaves as configured`;
  if (failed.every((r) => r.unreachable)) {
    const endpoints = [...new Set(failed.map((r) => r.endpoint))].join(' and ');
    return `nothing answered within ${options.timeoutMs / 1000} s at ${endpoints}: is the cluster up? (npx zx scripts/up.mjs), or pass --timeout for a slower start`;
  }
  return `${failed.length} of ${results.length} checks failed: ${failed.map((r) => r.check).join('; ')}`;
}
