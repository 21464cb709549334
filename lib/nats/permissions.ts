import { errors, type NatsConnection, type Status } from '@nats-io/transport-node';
import type { Access, Operation } from './subjects';

/**
 * How to find out what a running server does with a user's permissions: publish or subscribe and
 * see whether the server answers with `Permissions Violation` (the connection stays open either way).
 */

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
