import { AsyncLocalStorage } from 'node:async_hooks';
import type { X509Certificate } from 'node:crypto';
import { subscribe } from 'node:diagnostics_channel';
import { createConnection, type Socket } from 'node:net';
import { connect as connectTls, type ConnectionOptions, type TLSSocket } from 'node:tls';

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
 * Reads the first line from `socket`, at most GREETING_LIMIT bytes and `ms` long. Leaves the socket
 * open and paused, so that a caller may go on to TLS on it.
 */
function readFirstLine(socket: Socket, ms: number): Promise<Greeting> {
  return new Promise((resolve) => {
    let received = Buffer.alloc(0);
    const finish = (greeting: Greeting): void => {
      clearTimeout(timer);
      socket.pause();
      socket.off('data', onData).off('error', onError).off('close', onClose);
      resolve(greeting);
    };
    const timer = setTimeout(() => finish(ended(socket, received, ms, false)), ms);
    const onData = (chunk: Buffer): void => {
      received = Buffer.concat([received, chunk]);
      const lineEnd = received.indexOf('\n');
      if (lineEnd >= 0) finish(parseGreeting(received.subarray(0, lineEnd + 1)));
      else if (received.length >= GREETING_LIMIT) finish({ kind: 'not-nats', detail: `the server sent ${GREETING_LIMIT / 1024} KiB starting ${shown(received)} without a line end` });
    };
    const onError = (error: Error): void => finish({ kind: 'unreachable', error });
    const onClose = (): void => finish(ended(socket, received, ms, true));
    socket.on('data', onData).on('error', onError).on('close', onClose);
  });
}

/**
 * Connects to `host:port` and reads the first line, at most GREETING_LIMIT bytes and `ms` long,
 * then closes the socket. A NATS server sends its INFO at once, before any TLS.
 */
export async function readGreeting(host: string, port: number, ms: number): Promise<Greeting> {
  const socket = createConnection({ host, port });
  try {
    return await readFirstLine(socket, ms);
  } finally {
    socket.destroy();
  }
}

/** A greeting that is no INFO line. */
export type FailedGreeting = Exclude<Greeting, { readonly kind: 'info' }>;

/** How the TLS handshake after the greeting went. */
export type Handshake =
  | { readonly kind: 'certificate'; readonly certificate: X509Certificate }
  | { readonly kind: 'no-info'; readonly greeting: FailedGreeting }
  | { readonly kind: 'failed'; readonly error: unknown }
  | { readonly kind: 'timed-out' };

/** Starts TLS on the greeted socket and settles with the certificate the server presented, or the handshake's error. */
function handshake(socket: Socket, tls: ConnectionOptions, opened: (secure: TLSSocket) => void): Promise<Handshake> {
  return new Promise((resolve) => {
    const secure = connectTls({ ...tls, socket, rejectUnauthorized: false }, () => {
      const certificate = secure.getPeerX509Certificate();
      if (certificate) resolve({ kind: 'certificate', certificate });
      else resolve({ kind: 'failed', error: new Error('the server presented no certificate') });
    });
    opened(secure);
    secure.on('error', (error) => resolve({ kind: 'failed', error }));
    secure.on('close', () => resolve({ kind: 'failed', error: new Error('the server closed the connection during the TLS handshake') }));
  });
}

/**
 * Greets, starts TLS as a NATS client does, and returns the certificate the server presents
 * without judging it (the caller compares it with its own). `tls` may carry a client certificate:
 * over TLS 1.2 a server that requires one ends the handshake before it completes without one.
 * Settles within `ms` and leaves no socket open.
 */
export async function readServedCertificate(host: string, port: number, tls: ConnectionOptions, ms: number): Promise<Handshake> {
  const socket = createConnection({ host, port });
  // Once TLS runs on it, its errors reach the TLS socket; one that came after the greeting and
  // before the handshake must not crash the process (the bound below still ends the wait).
  socket.on('error', () => undefined);
  let secure: TLSSocket | undefined;
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<Handshake>((resolve) => {
    timer = setTimeout(() => resolve({ kind: 'timed-out' }), ms);
  });
  const greetThenShake = async (): Promise<Handshake> => {
    const greeting = await readFirstLine(socket, ms);
    if (greeting.kind !== 'info') return { kind: 'no-info', greeting };
    // Node throws at once for unusable key material, e.g. a key that does not belong to the certificate.
    return handshake(socket, tls, (opened) => {
      secure = opened;
    }).catch((error: unknown): Handshake => ({ kind: 'failed', error }));
  };
  try {
    return await Promise.race([greetThenShake(), timedOut]);
  } finally {
    clearTimeout(timer);
    secure?.destroy();
    socket.destroy();
  }
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
