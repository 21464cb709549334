import { createServer as createHttpServer, type Server as HttpServer, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { createConnection, createServer, type Server, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';
import { TLSSocket } from 'node:tls';

/**
 * Misbehaving servers on 127.0.0.1 for `npm run verify`: what a wrong port, a stuck process or a
 * server that is not ours looks like from the client side. Close each in afterAll/finally.
 */

export interface FakeServer {
  readonly port: number;
  /** `tls://127.0.0.1:<port>` — what a user would pass as --nats-url. */
  readonly url: string;
  /** Connections accepted so far. */
  connections(): number;
  close(): Promise<void>;
}

const HOST = '127.0.0.1';

/** A TCP server that hands every connection to `onConnection` and destroys them all on close. */
export async function startTcpServer(onConnection: (socket: Socket) => void): Promise<FakeServer> {
  const sockets = new Set<Socket>();
  let accepted = 0;
  const server: Server = createServer((socket) => {
    accepted += 1;
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    // The client going away mid-write is expected; an unhandled 'error' would crash the test run.
    socket.on('error', () => undefined);
    onConnection(socket);
  });
  await new Promise<void>((resolve) => server.listen(0, HOST, resolve));
  const { port } = server.address() as AddressInfo;
  return {
    port,
    url: `tls://${HOST}:${port}`,
    connections: () => accepted,
    close: () => new Promise((resolve) => {
      sockets.forEach((socket) => socket.destroy());
      server.close(() => resolve());
    }),
  };
}

/** Accepts connections and never says a word — a port that is not NATS, or a stuck process. */
export const startSilentServer = (): Promise<FakeServer> => startTcpServer(() => undefined);

/** Writes `chunk` over and over for as long as the client reads, never ending a line. */
function writeForever(socket: Socket, chunk: Buffer): void {
  const pump = (): void => {
    while (!socket.destroyed && socket.write(chunk));
    if (!socket.destroyed) socket.once('drain', pump);
  };
  pump();
}

const FILLER = Buffer.alloc(64 * 1024, 'x');

/** Starts an INFO line and never ends it: a client that waits for the line end buffers without limit. */
export const startEndlessInfoServer = (): Promise<FakeServer> =>
  startTcpServer((socket) => {
    socket.write('INFO ');
    writeForever(socket, FILLER);
  });

/** The INFO a TLS-only nats-server with client certificates sends; nats.js upgrades to TLS on `tls_required`. */
export function natsInfoLine(overrides: Record<string, unknown> = {}): string {
  const info = {
    server_id: 'FAKE', server_name: 'fake', version: '2.9.20', proto: 1, go: 'go1.20', host: HOST, port: 4222,
    headers: true, max_payload: 1048576, tls_required: true, tls_verify: true, ...overrides,
  };
  return `INFO ${JSON.stringify(info)}\r\n`;
}

/** Greets like a TLS NATS server, then never answers the TLS handshake. */
export const startStalledTlsServer = (): Promise<FakeServer> => startTcpServer((socket) => socket.write(natsInfoLine()));

export interface TlsMaterial {
  readonly key: string;
  readonly cert: string;
  readonly ca: string;
}

/**
 * A NATS server that greets, upgrades to TLS requiring a client certificate from `ca`, and shows
 * `answer` everything the client has sent so far, after each chunk.
 */
const startTlsNatsServer = (tls: TlsMaterial, answer: (secure: TLSSocket, received: string) => void): Promise<FakeServer> =>
  startTcpServer((socket) => {
    socket.write(natsInfoLine());
    const secure = new TLSSocket(socket, { isServer: true, ...tls, requestCert: true, rejectUnauthorized: true });
    secure.on('error', () => undefined);
    let received = '';
    secure.on('data', (chunk: Buffer) => {
      received += chunk.toString('utf8');
      answer(secure, received);
    });
  });

/**
 * A NATS server that answers the client's CONNECT with `-ERR '<error>'` (nats-server's wording, e.g.
 * 'Authentication Timeout') before closing — a server error other than the one verify expects.
 */
export const startErrNatsServer = (tls: TlsMaterial, error: string): Promise<FakeServer> =>
  startTlsNatsServer(tls, (secure, received) => {
    if (received.includes('CONNECT ')) secure.end(`-ERR '${error}'\r\n`);
  });

/**
 * A NATS server that answers the PING that ends a client's CONNECT (so the client counts as
 * connected), and then never says another word — a server that hangs after letting a client in.
 */
export const startMuteAfterConnectServer = (tls: TlsMaterial): Promise<FakeServer> => {
  const answered = new WeakSet<TLSSocket>();
  return startTlsNatsServer(tls, (secure, received) => {
    if (answered.has(secure) || !received.includes('PING\r\n')) return;
    answered.add(secure);
    secure.write('PONG\r\n');
  });
};

/**
 * Forwards each new connection to the loopback port `target()` names when it arrives: one address
 * whose server changes meanwhile, as a cluster's does when it reloads its configuration.
 */
export const startForwarder = (target: () => number): Promise<FakeServer> =>
  startTcpServer((socket) => {
    const upstream = createConnection({ host: HOST, port: target() });
    upstream.on('error', () => socket.destroy());
    socket.on('close', () => upstream.destroy());
    socket.pipe(upstream).pipe(socket);
  });

/** 200, then `chunk` a millisecond for as long as the client reads. */
function streamEndlessly(response: ServerResponse, chunk: Buffer | string): void {
  response.writeHead(200, { 'content-type': 'text/plain' });
  const pump = (): void => {
    if (response.destroyed) return;
    if (response.write(chunk)) setTimeout(pump, 1);
    else response.once('drain', pump);
  };
  response.on('error', () => undefined);
  pump();
}

export interface FakeHttpServer {
  readonly url: string;
  close(): Promise<void>;
}

/**
 * Answers 200 and streams `chunk` for as long as the client reads: a body no client should buffer
 * whole. Paced to a chunk a millisecond, so a client that does buffer it grows by tens of MB a
 * second rather than exhausting the machine's memory within the test.
 */
export async function startEndlessHttpServer(chunk = FILLER): Promise<FakeHttpServer> {
  const server: HttpServer = createHttpServer((_request, response) => streamEndlessly(response, chunk));
  await new Promise<void>((resolve) => server.listen(0, HOST, resolve));
  return {
    url: `http://${HOST}:${(server.address() as AddressInfo).port}`,
    close: () => new Promise((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    }),
  };
}

export interface HttpsEcho {
  /** `https://localhost:<port>`: the name echo's certificate carries, so that a client can check it. */
  readonly url: string;
  requests(): number;
  close(): Promise<void>;
}

/**
 * A real HTTPS server on 127.0.0.1 standing in for Traefik's websecure entry point in front of
 * http-echo: it presents `cert`, answers 404 (routes not loaded yet) `notFoundFirst` times, then 200
 * `text` — or, with `endless`, 200 and a body that never ends.
 */
export async function startHttpsEcho(
  options: { cert: string; key: string; text: string; notFoundFirst?: number; endless?: boolean },
): Promise<HttpsEcho> {
  let requests = 0;
  const server = createHttpsServer({ cert: options.cert, key: options.key }, (_request, response) => {
    requests += 1;
    if (requests <= (options.notFoundFirst ?? 0)) response.writeHead(404).end('404 page not found\n');
    else if (options.endless) streamEndlessly(response, FILLER);
    else response.writeHead(200, { 'content-type': 'text/plain' }).end(`${options.text}\n`);
  });
  await new Promise<void>((resolve) => server.listen(0, HOST, resolve));
  return {
    url: `https://localhost:${(server.address() as AddressInfo).port}`,
    requests: () => requests,
    close: () => new Promise((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    }),
  };
}
