import { connect, type NatsConnection } from '@nats-io/transport-node';
import { allowedIdentity } from './allowed-identity';
import type { KeyMaterial } from './keys';
import { causeOf, classifyConnectError, describeOutcome, type NatsOutcome } from './nats-outcome';
import { NATS_TIMEOUT_GRACE_MS, retryNats, type NatsSession, type ReloadPending } from './nats-session';
import type { VerifyOptions } from './options';
import type { ProgressBoard } from './progress';
import { plural, type CheckResult, type Row } from './report';

/**
 * Which servers of a NATS cluster answer, in their own words. Every nats-server answers
 * `$SYS.REQ.ACCOUNT.PING.STATZ`, a service the system account exports to every account, so a user
 * mapped from a client certificate may ask without system-account credentials; each reply names
 * the server that sent it. A server that is down, or cut off from the routes, sends none. (The
 * chart's `no_advertise: true` leaves the client INFO's `connect_urls` empty, and `/routez` is on
 * the monitoring port, which is not published.)
 */

export const CLUSTER_CHECK = 'nats cluster servers';

const STATZ_SUBJECT = '$SYS.REQ.ACCOUNT.PING.STATZ';
/** Without include_unused a server where the account has no connection stays silent. */
const STATZ_REQUEST = JSON.stringify({ include_unused: true });
const SUBSCRIBES = ['_INBOX.verify'];

/** Replies come within milliseconds over the routes; a server that has not answered by then is not there. */
const COLLECT_MS = 1500;
/**
 * How long a missing server is asked for again before the row says the cluster is degraded: a
 * reconnecting route comes back within this, a stopped pod does not. Short, so that the answer
 * comes in seconds rather than at the end of the deadline.
 */
export const SETTLE_MS = 3000;

/** The servers' names from one round of replies, in the order they came. */
async function answeringServers(nc: NatsConnection, expected: number, ms: number): Promise<string[]> {
  const names: string[] = [];
  const replies = await nc.requestMany(STATZ_SUBJECT, STATZ_REQUEST, { strategy: 'count', maxMessages: expected, maxWait: Math.min(COLLECT_MS, ms) });
  for await (const reply of replies) {
    const name = (reply.json<{ server?: { name?: unknown } }>().server?.name);
    if (typeof name === 'string' && !names.includes(name)) names.push(name);
  }
  return names;
}

interface Membership {
  readonly answering: readonly string[];
  readonly missing: readonly string[];
  /** Servers that answered but are not the chart's pods of this release. */
  readonly unexpected: readonly string[];
}

function membership(answering: readonly string[], expected: readonly string[]): Membership {
  return {
    answering: [...answering].sort(),
    missing: expected.filter((name) => !answering.includes(name)),
    unexpected: answering.filter((name) => !expected.includes(name)).sort(),
  };
}

function describeMembership({ answering, missing, unexpected }: Membership, expected: number): string {
  const count = missing.length === 0 && unexpected.length === 0 ? `all ${expected}` : `${answering.length} of ${expected}`;
  return [
    `${count} answer${answering.length > 0 ? `: ${answering.join(', ')}` : ''}`,
    ...(missing.length > 0 ? [`missing: ${missing.join(', ')}`] : []),
    ...(unexpected.length > 0 ? [`not of this release: ${unexpected.join(', ')}`] : []),
  ].join('; ');
}

const degradedCause = (found: Membership, options: VerifyOptions): string =>
  `the NATS cluster is degraded: ${found.missing.join(', ')} ${found.missing.length === 1 ? 'does' : 'do'} not answer ` +
  `(${found.answering.length} of ${options.natsServers.length} servers do) — look at ${found.missing.length === 1 ? 'it' : 'them'} with ` +
  `\`kubectl -n ${options.natsNamespace} get pods\` and \`kubectl -n ${options.natsNamespace} describe pod ${found.missing[0]}\``;

/**
 * With nats.replicas > 1: asks every server for its name, as the first authorized identity that may
 * ask. A missing server is asked for again for SETTLE_MS after it was first missed, then the row
 * fails as `degraded`, its cause saying which servers do not answer.
 */
export async function checkClusterServers(
  options: VerifyOptions, keys: KeyMaterial, deadline: number, progress: ProgressBoard,
): Promise<CheckResult[]> {
  const started = Date.now();
  const expected = options.natsServers;
  const expectedText = `${plural(expected.length, 'server')} answer: ${expected.join(', ')}`;
  const identity = allowedIdentity(options.identities, [STATZ_SUBJECT], SUBSCRIBES);
  if (!identity) {
    return [{
      check: CLUSTER_CHECK, endpoint: options.natsUrl, expected: expectedText, ok: true, unreachable: false, ms: 0,
      got: `not applicable: no authorized identity may ask the servers (${STATZ_SUBJECT}) and receive their replies (_INBOX.>)`,
    }];
  }
  const tls = { ...keys.identities.get(identity.name), ca: keys.ca };
  const session: NatsSession = async (ms, step) => {
    let nc: NatsConnection;
    try {
      nc = await connect({ servers: options.natsUrl, tls, timeout: ms + NATS_TIMEOUT_GRACE_MS, reconnect: false, name: 'verify-cluster' });
    } catch (error) {
      return classifyConnectError(error, ms);
    }
    step.admitted = true;
    try {
      return { kind: 'servers', names: await answeringServers(nc, expected.length, ms) };
    } catch (error) {
      return { kind: 'error', detail: (error as Error).message ?? String(error) };
    } finally {
      await nc.close();
    }
  };
  let firstMissed: number | undefined;
  const settling: ReloadPending = (outcome) => {
    if (outcome.kind !== 'servers') return undefined;
    const { missing } = membership(outcome.names, expected);
    if (missing.length === 0) return undefined;
    firstMissed ??= Date.now();
    return Date.now() - firstMissed < SETTLE_MS ? `${missing.join(', ')} not answering yet` : undefined;
  };
  const check = `${CLUSTER_CHECK} (as ${identity.name})`;
  const outcome = await retryNats(options, check, deadline, progress, session, settling);
  progress.done(check);
  const row = clusterRow(outcome, options);
  return [{ check, endpoint: options.natsUrl, expected: expectedText, ...row, unreachable: outcome.kind === 'unreachable', ms: Date.now() - started }];
}

function clusterRow(outcome: NatsOutcome, options: VerifyOptions): Omit<Row, 'check' | 'expected'> {
  if (outcome.kind !== 'servers') return { got: describeOutcome(outcome, options), ok: false, cause: causeOf(outcome, options) };
  const found = membership(outcome.names, options.natsServers);
  const got = describeMembership(found, options.natsServers.length);
  if (found.unexpected.length > 0) {
    return { got, ok: false, cause: `servers answer that are not pods of release ${options.natsServers[0].replace(/-0$/, '')}: does nats.release match the deployment?` };
  }
  if (found.missing.length > 0) return { got, ok: false, cause: degradedCause(found, options), degraded: true };
  return { got, ok: true };
}

/** The cause of a degraded cluster row, for the rows that need every server; undefined when it is not degraded. */
export const degradation = (rows: readonly CheckResult[]): string | undefined => rows.find((row) => row.degraded)?.cause;
