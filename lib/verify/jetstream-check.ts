import { connect, type NatsConnection } from '@nats-io/transport-node';
import { CLUSTER_CHECK } from './cluster-servers';
import { describeProof, jetstreamIdentity, proveJetStream } from './jetstream';
import type { KeyMaterial } from './keys';
import { causeOf, classifyConnectError, describeOutcome, type NatsOutcome } from './nats-outcome';
import { NATS_TIMEOUT_GRACE_MS, retryNats, type NatsSession, type ReloadPending } from './nats-session';
import type { VerifyOptions } from './options';
import type { ProgressBoard } from './progress';
import { plural, type CheckResult, type Row } from './report';

/** The row for the JetStream proof (lib/verify/jetstream.ts): when it applies, as whom, and what its outcome means. */

export const JETSTREAM_CHECK = 'nats jetstream stream';

/** A stream still on its way: JetStream may be off until the servers restart with it, or still electing a leader. */
const jetstreamPending: ReloadPending = (outcome) => {
  if (outcome.kind !== 'jetstream') return undefined;
  const { proof } = outcome;
  if (proof.kind === 'not-enabled') return 'JetStream is not enabled on the server yet';
  return proof.kind === 'failed' && proof.retry && !proof.leftover ? describeProof(proof) : undefined;
};

/** Exported for its tests: what a proof's outcome means for the row, with nats.replicas peers expected. */
export function jetstreamVerdict(outcome: NatsOutcome, options: VerifyOptions, replicas: number): Omit<Row, 'check' | 'expected'> {
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
 * the JetStream API, once `degraded` (the cluster row's cause, when servers are missing) says every server answers. Without JetStream (a cluster configured without it) or without such an identity
 * the row passes as not applicable and says why: nothing on the client side can prove more there.
 */
export async function checkJetStream(
  options: VerifyOptions, keys: KeyMaterial, deadline: number, progress: ProgressBoard,
  degraded: Promise<string | undefined> = Promise.resolve(undefined),
): Promise<CheckResult[]> {
  const started = Date.now();
  const replicas = options.replicas;
  const expected = `a stream on ${plural(replicas, 'peer')}: stored, read back, deleted`;
  const identity = jetstreamIdentity(options.identities);
  const skipped = (why: string): CheckResult[] =>
    [{ check: JETSTREAM_CHECK, endpoint: options.natsUrl, expected, got: `not applicable: ${why}`, ok: true, unreachable: false, ms: 0 }];
  if (!options.jetstream) return skipped('nats.jetstream.enabled is false, so there is no stream to replicate');
  if (!identity) return skipped('no authorized identity may use the JetStream API ($JS.API.>) and _INBOX.> for its replies and stream');
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
  // With a server missing, a stream may or may not be placed, time out or be left over, depending on
  // which server JetStream's leader has noticed gone: the cluster row's answer comes first, and in seconds.
  progress.waiting(check, `nats ${options.natsUrl}`, 'waiting for the cluster servers row');
  const missing = await degraded;
  if (missing) {
    progress.done(check);
    return [{
      check, endpoint: options.natsUrl, expected, got: `not tried: the cluster is degraded (${CLUSTER_CHECK})`, ok: false, cause: missing, degraded: true,
      unreachable: false, ms: Date.now() - started,
    }];
  }
  const outcome = await retryNats(options, check, deadline, progress, session, jetstreamPending);
  progress.done(check);
  const verdict = jetstreamVerdict(outcome, options, replicas);
  return [{ check, endpoint: options.natsUrl, expected, ...verdict, unreachable: outcome.kind === 'unreachable', ms: Date.now() - started }];
}
