import { classifyGreeting, describeOutcome, type NatsOutcome } from './nats-outcome';
import type { VerifyOptions } from './options';
import { closingSockets, readGreeting } from './probe';
import type { ProgressBoard } from './progress';
import { seconds } from './report';
import { remainingMs, withRetries } from './retry';

/** One NATS connection bounded in time after a greeting, retried until the deadline: what every NATS check runs on. */

/** Grace for nats.js's own connect timeout, so that the bound around it (which names the stall) fires first. */
export const NATS_TIMEOUT_GRACE_MS = 1000;

/** How far one connection got, so that a stall is described for what it was. */
export interface SessionStep {
  admitted: boolean;
}

/** One connection's work after the greeting, bounded by `ms`. */
export type NatsSession = (ms: number, step: SessionStep) => Promise<NatsOutcome>;

const DEFAULT_NATS_PORT = 4222;

export function natsAddress(options: VerifyOptions): { host: string; port: number } {
  const url = new URL(options.natsUrl);
  return { host: url.hostname.replace(/^\[(.*)\]$/, '$1'), port: Number(url.port || DEFAULT_NATS_PORT) };
}

/** How progress lines name the NATS endpoint the checks wait for. */
export const natsTarget = (options: VerifyOptions): string => `nats ${options.natsUrl}`;

export const stalledOutcome = (ms: number, step: SessionStep): NatsOutcome => ({
  kind: 'stalled',
  detail: step.admitted
    ? `connected, then the server did not answer within ${seconds(ms)}`
    : `the server sent its INFO, then did not finish the TLS handshake and CONNECT within ${seconds(ms)}`,
});

/** What the server's greeting already decides (see classifyGreeting); undefined for a NATS server offering TLS. */
async function greet(options: VerifyOptions, deadline: number): Promise<NatsOutcome | undefined> {
  const { host, port } = natsAddress(options);
  const ms = remainingMs(deadline);
  return classifyGreeting(await readGreeting(host, port, ms), ms);
}

/**
 * Waits, until the deadline, for the server to greet; undefined once it greets as a NATS server
 * offering TLS, else what it came to. Many checks wait on this one greeting instead of each
 * retrying on its own: a fleet's checks then cost nothing while the server is down.
 */
export async function awaitGreeting(options: VerifyOptions, deadline: number, onRetry: (got: string) => void): Promise<NatsOutcome | undefined> {
  const { outcome } = await withRetries(deadline, async () => {
    const outcome = await greet(options, deadline);
    return { retry: outcome?.kind === 'unreachable', got: outcome ? describeOutcome(outcome, options) : '', outcome };
  }, onRetry);
  return outcome;
}

/** Reads the server's greeting first, so a silent, endless or plain-text server is named for what it is. */
async function attemptNats(options: VerifyOptions, deadline: number, session: NatsSession): Promise<NatsOutcome> {
  const refused = await greet(options, deadline);
  if (refused) return refused;
  const ms = remainingMs(deadline);
  const step: SessionStep = { admitted: false };
  return closingSockets(ms, () => session(ms, step), () => stalledOutcome(ms, step));
}

/**
 * For a wrong answer that a configuration reload still on its way would explain, what the check
 * waits for: the cluster applies a changed Secret or ConfigMap a minute or so after `up` applied it.
 */
export type ReloadPending = (outcome: NatsOutcome) => string | undefined;

/** Retries `session` while nothing answers, or a reload may be pending, until the deadline; returns its last outcome. */
export async function retryNats(
  options: VerifyOptions, check: string, deadline: number, progress: ProgressBoard, session: NatsSession, pending: ReloadPending = () => undefined,
): Promise<NatsOutcome> {
  const target = natsTarget(options);
  progress.waiting(check, target);
  const { outcome } = await withRetries(deadline, async () => {
    const outcome = await attemptNats(options, deadline, session);
    const reload = pending(outcome);
    return { retry: outcome.kind === 'unreachable' || reload !== undefined, got: reload ?? describeOutcome(outcome, options), outcome };
  }, (got) => progress.waiting(check, target, got));
  return outcome;
}
