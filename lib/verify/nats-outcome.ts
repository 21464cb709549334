import type { X509Certificate } from 'node:crypto';
import { errors } from '@nats-io/transport-node';
import type { Access } from '../nats/subjects';
import { displayPath } from '../util/display-path';
import { BAD_CERTIFICATE_CODES, FOREIGN_CA_CODES } from './certificate-errors';
import { describeProof, type JetStreamProof } from './jetstream';
import type { VerifyOptions } from './options';
import type { FailedGreeting, Greeting } from './probe';
import { plural, seconds } from './report';
import { networkProblem, unreachableCause } from './retry';

/** What a NATS connection came to, classified from the greeting and nats.js's errors, and worded for a row. */

/** What a NATS connection attempt came to, in the terms the expectations are written in. */
export type NatsOutcome =
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
  /** Its turn came after the deadline: `atOnce` identities were being checked at a time. */
  | { kind: 'not-tried'; atOnce: number }
  /** Admitted, and each permission case tried on that connection, in order. */
  | { kind: 'probed'; results: readonly ProbeResult[] }
  /** The TLS handshake showed the server's certificate. */
  | { kind: 'served'; certificate: X509Certificate }
  /** Admitted, and the throwaway stream went as `proof` says. */
  | { kind: 'jetstream'; proof: JetStreamProof }
  /** Admitted, and these servers of the cluster answered by name. */
  | { kind: 'servers'; names: readonly string[] };

/** What the server did with one permission case, or why trying it failed. */
export type ProbeResult = Access | { readonly error: string };

export function describeOutcome(outcome: NatsOutcome, options: VerifyOptions): string {
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
    case 'not-tried': return `not tried: the ${options.timeoutMs / 1000} s of --timeout ran out before its turn (${outcome.atOnce} identities at a time)`;
    case 'probed': return `admitted: tried ${outcome.results.length} permission rule(s)`;
    case 'served': return `presented SHA-256 ${outcome.certificate.fingerprint256}`;
    case 'jetstream': return describeProof(outcome.proof);
    case 'servers': return `${plural(outcome.names.length, 'server')} answer: ${outcome.names.join(', ')}`;
  }
}

export const FOREIGN_CA_CAUSE = "the server presents a certificate from another CA: the cluster's Secret is from another PKI — " +
  'run `npm run synth` and `npx zx scripts/up.mjs`';

/** The reason behind a failed row and what to do, for the summary; undefined where the row says it all. */
export function causeOf(outcome: NatsOutcome, options: VerifyOptions): string | undefined {
  const url = options.natsUrl;
  switch (outcome.kind) {
    case 'no-tls': return `the server at ${url} does not use TLS: is it our deployment? is the port right?`;
    case 'foreign-ca': return FOREIGN_CA_CAUSE;
    case 'bad-certificate': return `the server certificate is not valid for ${url}: ` +
      'run `npm run synth` (it re-issues an expired one, naming the hosts in pki.server) and `npx zx scripts/up.mjs`';
    case 'not-nats': return `what answers at ${url} is not a NATS server: is the port right?`;
    case 'stalled': return `the server at ${url} greets like NATS but does not finish connecting: look at its logs`;
    case 'unreachable': return unreachableCause(url, outcome.detail);
    // The checks before them may have waited on a broken server instead: their own failures come first in the table.
    case 'not-tried': return `${options.identities.length} identities, ${outcome.atOnce} at a time, did not fit in --timeout ` +
      `${options.timeoutMs / 1000}: unless the other failures explain the wait, pass a longer --timeout or check fewer with --identity`;
    default: return undefined;
  }
}

/** Node reports an alert the server sent as ERR_SSL_…_ALERT_…, e.g. `alert bad certificate` when a client has none. */
function tlsAlert(error: unknown): string | undefined {
  const { code, message } = error as { code?: unknown; message?: string };
  if (typeof code !== 'string' || !/^ERR_SSL_.*ALERT/.test(code)) return undefined;
  return /alert ([a-z ]+)/.exec(message ?? '')?.[0] ?? code;
}

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

export function classifyConnectError(error: unknown, ms: number): NatsOutcome {
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
export function classifyGreeting(greeting: Greeting, ms: number): NatsOutcome | undefined {
  if (greeting.kind !== 'info') return greetingFailure(greeting, ms);
  const { tls_required: required, tls_available: available } = greeting.info;
  return required === true || available === true ? undefined : { kind: 'no-tls' };
}

export function greetingFailure(greeting: FailedGreeting, ms: number): NatsOutcome {
  switch (greeting.kind) {
    case 'unreachable': return { kind: 'unreachable', detail: greetingProblem(greeting.error, ms) };
    case 'closed-silently': return { kind: 'unreachable', detail: 'connection closed before NATS answered' };
    case 'not-nats': return { kind: 'not-nats', detail: greeting.detail };
  }
}
