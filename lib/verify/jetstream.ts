import { randomBytes } from 'node:crypto';
import { jetstream, jetstreamManager, StorageType, type JetStreamManager } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import type { Identity } from '../config/config';
import { StepTimeout } from '../util/errors';
import { allowedIdentity } from './allowed-identity';
import { plural } from './report';

/**
 * The cluster proven from the client side: a throwaway JetStream stream replicated on
 * `nats.replicas` servers takes a message, gives it back, names its peers, and is deleted again.
 * Only a client's view: the routes themselves are the servers' business.
 */

/**
 * The throwaway stream's subjects: a random token under the reply prefix nats.js and the nats CLI
 * use. A user stream there would swallow every reply, so none owns it; anywhere else (`verify.>`
 * was) a user's stream may, and the server refuses ours with "subjects overlap".
 */
const STREAM_SUBJECT_PREFIX = '_INBOX.verify-jetstream';

/** What the proof publishes to: the JetStream API calls it makes and the stream's own subject. */
const PUBLISHES = ['$JS.API.INFO', '$JS.API.STREAM.CREATE.verify', '$JS.API.STREAM.INFO.verify', '$JS.API.STREAM.MSG.GET.verify',
  '$JS.API.STREAM.DELETE.verify', `${STREAM_SUBJECT_PREFIX}.verify`];
/** Where nats.js receives the API's replies. */
const SUBSCRIBES = ['_INBOX.verify'];

/** The first authorized identity that may run the proof (lib/verify/allowed-identity.ts). */
export const jetstreamIdentity = (identities: readonly Identity[]): Identity | undefined => allowedIdentity(identities, PUBLISHES, SUBSCRIBES);

export type JetStreamProof =
  /** Stored, read back and deleted; the peers the stream info named, leader first. */
  | { readonly kind: 'proved'; readonly leader: string; readonly peers: readonly string[] }
  /** Nothing answers the JetStream API: the server runs without JetStream. */
  | { readonly kind: 'not-enabled' }
  /** A step failed; `leftover` names a stream that could not be deleted. */
  | { readonly kind: 'failed'; readonly step: string; readonly detail: string; readonly retry: boolean; readonly leftover?: string };

/** Up to this much of a session is kept for deleting the stream, so that a step that hangs still leaves time to clean up. */
const DELETE_RESERVE_MS = 2000;

/**
 * Longest wait for one JetStream API answer. While a cluster elects its meta leader a request can go
 * unanswered (seen on a starved machine: $JS.API.INFO never answered); waiting the whole session for
 * it would spend verify's deadline on one lost message, so the step fails as retryable and verify
 * asks again in a new session.
 */
export const JETSTREAM_REQUEST_MS = 10_000;

/**
 * nats-server's codes for a cluster still coming together: no meta leader yet (10008), not enough
 * servers known for the replicas (10005 no suitable peers, 10023 insufficient resources).
 */
const NOT_READY_CODES = new Set([10005, 10008, 10023]);

/** `promise`, or a StepTimeout once `until` (epoch ms) has passed. */
async function within<T>(promise: Promise<T>, until: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<never>((_resolve, reject) => {
    const ms = Math.max(until - Date.now(), 0);
    timer = setTimeout(() => reject(new StepTimeout(`no answer within ${(ms / 1000).toFixed(1)} s`)), ms);
  });
  try {
    return await Promise.race([promise, expired]);
  } finally {
    clearTimeout(timer);
  }
}

const isNotEnabled = (error: unknown): boolean => (error as Error).name === 'JetStreamNotEnabled';
/** JetStreamApiError's `code` is the API's err_code. */
const apiCode = (error: unknown): unknown => (error as { code?: unknown }).code;

/**
 * Creates a stream of `replicas` file-backed replicas (what the servers' volumes hold), publishes a
 * message to it, reads it back by sequence, reads the peers from its info, and deletes it — also when
 * a step failed. Settles within `ms`, each step within `requestMs`; the caller closes the connection.
 */
export async function proveJetStream(nc: NatsConnection, replicas: number, ms: number, requestMs = JETSTREAM_REQUEST_MS): Promise<JetStreamProof> {
  const end = Date.now() + ms;
  const sessionStepsEnd = end - Math.min(DELETE_RESERVE_MS, ms / 3);
  /** When the current step must have its answer: its own bound, within the session's. */
  const stepEnd = (): number => Math.min(sessionStepsEnd, Date.now() + requestMs);
  const token = randomBytes(4).toString('hex');
  const name = `verify_${token}`;
  const subject = `${STREAM_SUBJECT_PREFIX}.${token}`;
  const payload = `verify jetstream ${new Date().toISOString()}`;
  let jsm: JetStreamManager | undefined;
  let created = false;
  let step = 'reach the JetStream API';
  let outcome: JetStreamProof;
  try {
    let until = stepEnd();
    jsm = await within(jetstreamManager(nc, { timeout: Math.max(until - Date.now(), 1) }), until);
    step = `create stream ${name} with ${plural(replicas, 'replica')}`;
    created = true;
    await within(jsm.streams.add({ name, subjects: [subject], num_replicas: replicas, storage: StorageType.File, max_msgs: 1 }), stepEnd());
    step = `publish to ${subject}`;
    until = stepEnd();
    const ack = await within(jetstream(nc, { timeout: Math.max(until - Date.now(), 1) }).publish(subject, payload), until);
    step = `read message ${ack.seq} back`;
    const stored = await within(jsm.streams.getMessage(name, { seq: ack.seq }), stepEnd());
    const text = stored?.string();
    if (text !== payload) throw new Error(`got ${JSON.stringify(text)} instead of the message published`);
    step = 'read the stream info';
    const { cluster } = await within(jsm.streams.info(name), stepEnd());
    const followers = (cluster?.replicas ?? []).map((peer) => peer.name);
    // A server without a cluster holds the stream alone, and before nats-server 2.10 it reported no leader for it.
    const leader = cluster?.leader ?? (followers.length === 0 ? nc.info?.server_name : undefined) ?? '(no leader)';
    outcome = { kind: 'proved', leader, peers: [leader, ...followers] };
  } catch (error) {
    if (isNotEnabled(error)) outcome = { kind: 'not-enabled' };
    else {
      // Either bound may end a step first: ours, or nats.js's own request timeout.
      const timedOut = error instanceof StepTimeout || (error as Error).name === 'TimeoutError';
      const retry = timedOut || NOT_READY_CODES.has(apiCode(error) as number);
      outcome = { kind: 'failed', step, detail: (error as Error).message ?? String(error), retry };
    }
  }
  if (jsm && created) {
    // A create that timed out may still have happened: delete whatever is there, once.
    const deleted = await within(jsm.streams.delete(name), end - 100).then(() => undefined, (error: unknown) => error as Error);
    const missing = deleted && /stream not found/i.test(deleted.message);
    if (deleted && !missing) {
      const detail = `could not delete stream ${name} (${deleted.message})`;
      outcome = outcome.kind === 'failed'
        ? { ...outcome, leftover: name, detail: `${outcome.detail}; ${detail}` }
        : { kind: 'failed', step: `delete stream ${name}`, detail: deleted.message, retry: false, leftover: name };
    }
  }
  return outcome;
}

/** The row's got text for a proof. */
export function describeProof(proof: JetStreamProof): string {
  switch (proof.kind) {
    case 'proved': {
      const [leader, ...others] = proof.peers;
      const names = others.length === 0 ? leader : [`${leader} (leader)`, ...others].join(', ');
      return `stored, read back and deleted on ${plural(proof.peers.length, 'peer')}: ${names}`;
    }
    case 'not-enabled': return 'JetStream is not enabled on the server';
    case 'failed': return `could not ${proof.step}: ${proof.detail}`;
  }
}
