import { errors, type NatsConnection, type Status } from '@nats-io/transport-node';
import type { NatsPermissions, NatsSubjectRules } from './nats-values';
import { concreteSubject, subjectMatches } from './nats-subjects';

/**
 * What a user's permissions mean for one concrete subject, and how to find out what a running
 * server actually does with it: publish or subscribe and see whether the server answers with
 * `Permissions Violation` (the connection stays open either way).
 */

export type Operation = 'publish' | 'subscribe';
export type Access = 'allowed' | 'denied';

/** nats-server's rule: a subject must match an allow (when there is an allow list) and no deny. */
export function expectedAccess(rules: NatsSubjectRules | undefined, subject: string): Access {
  if (!rules) return 'allowed';
  const allowed = rules.allow === undefined || rules.allow.some((pattern) => subjectMatches(pattern, subject));
  const denied = (rules.deny ?? []).some((pattern) => subjectMatches(pattern, subject));
  return allowed && !denied ? 'allowed' : 'denied';
}

/** One rule turned into something to try: a concrete subject for it, and what the permissions say must happen. */
export interface PermissionCase {
  readonly operation: Operation;
  /** The rule as the configuration writes it, e.g. `publish deny sensors.admin.>`. */
  readonly rule: string;
  readonly subject: string;
  readonly expected: Access;
}

/** A case per allow and deny rule of both operations, wildcards filled in; the expectation weighs every rule. */
export function permissionCases(permissions: NatsPermissions): PermissionCase[] {
  const cases: PermissionCase[] = [];
  for (const operation of ['publish', 'subscribe'] as const) {
    const rules = permissions[operation];
    for (const kind of ['allow', 'deny'] as const) {
      for (const pattern of rules?.[kind] ?? []) {
        const subject = concreteSubject(pattern);
        cases.push({ operation, rule: `${operation} ${kind} ${pattern}`, subject, expected: expectedAccess(rules, subject) });
      }
    }
  }
  return cases;
}

const isViolation = (error: unknown, operation: Operation, subject: string): boolean =>
  error instanceof errors.PermissionViolationError && error.subject === subject
  && error.operation === (operation === 'publish' ? 'publish' : 'subscription');

/**
 * Publishes to `subject` and reports whether the server refused it. The server answers a refused
 * PUB with -ERR before it answers the PING of the flush that follows, so by then the answer is in.
 */
export async function probePublish(nc: NatsConnection, subject: string): Promise<Access> {
  const refusals: unknown[] = [];
  // nats.js hands out a QueuedIterator typed as AsyncIterable; its stop() ends the loop below.
  const status = nc.status() as AsyncIterable<Status> & { stop(): void };
  const watching = (async () => {
    for await (const event of status) if (event.type === 'error') refusals.push(event.error);
  })();
  try {
    nc.publish(subject, 'verify');
    await nc.flush();
    await new Promise((resolve) => setImmediate(resolve));
    return refusals.some((error) => isViolation(error, 'publish', subject)) ? 'denied' : 'allowed';
  } finally {
    status.stop();
    await watching;
  }
}

/** Subscribes to `subject` and reports whether the server refused it; the subscription is removed again. */
export async function probeSubscribe(nc: NatsConnection, subject: string): Promise<Access> {
  const subscription = nc.subscribe(subject);
  await nc.flush();
  await new Promise((resolve) => setImmediate(resolve));
  if (subscription.isClosed()) {
    const error = await subscription.closed;
    if (isViolation(error, 'subscribe', subject)) return 'denied';
    throw error instanceof Error ? error : new Error(`subscription to ${subject} closed`);
  }
  subscription.unsubscribe();
  return 'allowed';
}

export const probe = (nc: NatsConnection, operation: Operation, subject: string): Promise<Access> =>
  (operation === 'publish' ? probePublish(nc, subject) : probeSubscribe(nc, subject));
