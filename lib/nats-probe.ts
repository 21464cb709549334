import { AsyncLocalStorage } from 'node:async_hooks';
import { subscribe } from 'node:diagnostics_channel';
import { createConnection, type Socket } from 'node:net';

/**
 * Bounded network steps for `npm run verify`, so that no server — silent, endless or half-NATS —
 * can keep the process waiting past its deadline.
 */

/** What the first line from a NATS port came to. */
export type Greeting =
  | { readonly kind: 'info'; readonly info: Readonly<Record<string, unknown>> }
  /** Nothing answered: the socket's error (refused, reset, no route), or none when TCP did not connect in time. Worth retrying. */
  | { readonly kind: 'unreachable'; readonly error?: unknown }
  /** Closed before saying anything: a port mapping whose backend is not up yet. Worth retrying. */
  | { readonly kind: 'closed-silently' }
  /** Something answered, but not with a NATS INFO line. */
  | { readonly kind: 'not-nats'; readonly detail: string };

/** nats-server's INFO is a few hundred bytes; a cluster's connect_urls add a few KiB at most. */
export const GREETING_LIMIT = 64 * 1024;

const shown = (bytes: Buffer): string => {
  const text = bytes.toString('utf8').replace(/\r?\n?$/, '');
  return JSON.stringify(text.length > 40 ? `${text.slice(0, 37)}...` : text);
};

function parseGreeting(line: Buffer): Greeting {
  const match = /^INFO\s+(\{.*\})\s*$/s.exec(line.toString('utf8'));
  if (!match) return { kind: 'not-nats', detail: `the server sent ${shown(line)}` };
  try {
    const info: unknown = JSON.parse(match[1]);
    if (info !== null && typeof info === 'object') return { kind: 'info', info: info as Record<string, unknown> };
  } catch {
    // falls through: a line that starts like INFO but is not its JSON is no NATS server either
  }
  return { kind: 'not-nats', detail: `the server sent an INFO line that is not JSON: ${shown(line)}` };
}

/** Why the wait for the first line ended without one. */
function ended(socket: Socket, received: Buffer, ms: number, closed: boolean): Greeting {
  const seconds = `${(ms / 1000).toFixed(1)} s`;
  if (closed) {
    return received.length === 0 ? { kind: 'closed-silently' } : { kind: 'not-nats', detail: `the server closed the connection after ${shown(received)}` };
  }
  if (socket.connecting) return { kind: 'unreachable' };
  if (received.length === 0) return { kind: 'not-nats', detail: `connected, but the server sent nothing within ${seconds}` };
  return { kind: 'not-nats', detail: `the server sent ${shown(received)} and no line end within ${seconds}` };
}

/**
 * Connects to `host:port` and reads the first line, at most GREETING_LIMIT bytes and `ms` long,
 * then closes the socket. A NATS server sends its INFO at once, before any TLS.
 */
export function readGreeting(host: string, port: number, ms: number): Promise<Greeting> {
  return new Promise((resolve) => {
    const socket = createConnection({ host, port });
    let received = Buffer.alloc(0);
    const finish = (greeting: Greeting): void => {
      clearTimeout(timer);
      socket.destroy();
      resolve(greeting);
    };
    const timer = setTimeout(() => finish(ended(socket, received, ms, false)), ms);
    socket.on('data', (chunk: Buffer) => {
      received = Buffer.concat([received, chunk]);
      const lineEnd = received.indexOf('\n');
      if (lineEnd >= 0) finish(parseGreeting(received.subarray(0, lineEnd + 1)));
      else if (received.length >= GREETING_LIMIT) finish({ kind: 'not-nats', detail: `the server sent ${GREETING_LIMIT / 1024} KiB starting ${shown(received)} without a line end` });
    });
    socket.on('error', (error) => finish({ kind: 'unreachable', error }));
    socket.on('close', () => finish(ended(socket, received, ms, true)));
  });
}

/** The sockets opened inside the current `closingSockets` call; Node announces each on 'net.client.socket'. */
const openedSockets = new AsyncLocalStorage<Set<Socket>>();
subscribe('net.client.socket', (message) => openedSockets.getStore()?.add((message as { socket: Socket }).socket));

/**
 * Runs `attempt`, but settles with `onExpired()` after `ms`, and destroys every socket the attempt
 * opened either way. nats.js 3 only closes the socket of an established connection: one that timed
 * out while the server was silent, mid-INFO or mid-handshake would stay open and keep the process alive.
 */
export async function closingSockets<T>(ms: number, attempt: () => Promise<T>, onExpired: () => T): Promise<T> {
  const sockets = new Set<Socket>();
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<T>((resolve) => {
    timer = setTimeout(() => resolve(onExpired()), ms);
  });
  try {
    return await Promise.race([openedSockets.run(sockets, attempt), expired]);
  } finally {
    clearTimeout(timer);
    sockets.forEach((socket) => socket.destroy());
  }
}
