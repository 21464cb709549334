import { setTimeout as sleep } from 'node:timers/promises';
import { errors } from '@nats-io/transport-node';
import { seconds } from './report';

/** One deadline for the whole run: attempts bounded by it, retried while nothing answers. */

/** Leaves room for one attempt even when the deadline has passed. */
const MIN_ATTEMPT_MS = 1000;
const RETRY_PAUSE_MS = 500;

export const remainingMs = (deadline: number): number => Math.max(deadline - Date.now(), MIN_ATTEMPT_MS);

/** One try of a check: `retry` while nothing answered; `got` is what the row and the progress lines show. */
export interface Attempt {
  readonly retry: boolean;
  readonly got: string;
}

/** Retries `attempt` while it says so, until the deadline, telling `onRetry` why; returns the last outcome. */
export async function withRetries<T extends Attempt>(deadline: number, attempt: () => Promise<T>, onRetry: (got: string) => void): Promise<T> {
  for (;;) {
    const outcome = await attempt();
    if (!outcome.retry || Date.now() + RETRY_PAUSE_MS >= deadline) return outcome;
    onRetry(outcome.got);
    await sleep(RETRY_PAUSE_MS);
  }
}

export function networkProblem(error: unknown, ms: number): string | undefined {
  const code = (error as { code?: unknown }).code ?? (error as { cause?: { code?: unknown } }).cause?.code;
  switch (code) {
    case 'ECONNREFUSED': return 'nothing listening (connection refused)';
    case 'ECONNRESET': return 'connection reset before an answer';
    // nats-server closes a client whose TLS handshake outlasts its tls timeout (2 s), e.g. on a busy machine.
    case 'EPIPE': return 'the server closed the connection before an answer';
    case 'ENOTFOUND': return 'host name does not resolve';
    case 'EHOSTUNREACH': case 'ENETUNREACH': return 'host unreachable';
    default: break;
  }
  if (error instanceof errors.TimeoutError || (error as Error).name === 'TimeoutError') return `no answer within ${seconds(ms)}`;
  return undefined;
}

export const unreachableCause = (endpoint: string, problem: string): string =>
  `${endpoint} did not answer (${problem}): is that part of the deployment running, and is the port right?`;
