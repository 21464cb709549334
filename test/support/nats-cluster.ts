import { ChildProcess, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { get } from 'node:http';
import { createServer, type AddressInfo, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Config } from '../../lib/config/config';
import type { PkiPaths } from '../../lib/pki/paths';
import { track } from './child-processes';
import { whenReady } from './nats-server';
import { natsServerConfig, shippedNatsValues, type NatsServerConfig } from './nats-server-config';
import { natsServerBin } from './tools';

/**
 * A NATS cluster of real nats-server processes on loopback, each configured by `natsServerConfig`
 * with a cluster endpoint: the chart's client TLS mapping, users, route TLS and JetStream settings.
 * Every port is chosen before any server starts, because each server's routes name the others'
 * route ports; a member keeps its ports and files when it is killed and started again, as a pod
 * of the StatefulSet keeps its name and volume. Stop the cluster in afterAll.
 */

const HOST = '127.0.0.1';
const READY = [/Server is ready/, /Listening for route connections on /];

/** The PEM files a member uses: the client side (CA, server pair) and the route pair. */
export interface MemberFiles {
  readonly caFile: string;
  readonly certFile: string;
  readonly keyFile: string;
  readonly routeCertFile: string;
  readonly routeKeyFile: string;
}

export const memberFiles = (paths: PkiPaths): MemberFiles => ({
  caFile: paths.caCert, certFile: paths.serverCert, keyFile: paths.serverKey, routeCertFile: paths.routeCert, routeKeyFile: paths.routeKey,
});

/** One route connection as `/routez` reports it. */
export interface RouteInfo {
  readonly remote_id: string;
  readonly did_solicit: boolean;
  /** The account a pinned-account route carries alone; absent on the pooled routes, which carry every other account. */
  readonly account?: string;
}

/**
 * The accounts nats-server gives a route of their own to each peer: with route pooling on (the
 * default since 2.10) it pins the system account, `$SYS`, unless the configuration says otherwise
 * (opts.go, setBaselineOptions); the chart's values pin none.
 */
export const PINNED_ACCOUNTS: readonly string[] = ['$SYS'];

export interface ClusterMember {
  readonly serverName: string;
  /** `tls://127.0.0.1:<client port>`: where clients connect. */
  readonly url: string;
  /** `tls://127.0.0.1:<route port>`: what the other members' routes dial. */
  readonly routeUrl: string;
  readonly routePort: number;
  /** The server ID of the current run (a restarted server gets a new one); `/routez` names peers by it. */
  serverId(): string;
  /** How many pooled route connections it keeps to each peer (`/varz` cluster.pool_size; nats-server's default is 3). */
  poolSize(): number;
  isRunning(): boolean;
  /** Everything every run of this member logged, in order. */
  logs(): string;
  /** Resolves with the first log text after offset `since` that matches, e.g. the reason a route was refused. */
  waitForLog(pattern: RegExp, since: number, timeoutMs?: number): Promise<string>;
  /** GETs a monitoring endpoint (`/routez`, `/jsz?...`) and parses its JSON. */
  monitor<T>(path: string): Promise<T>;
  /** Every route connection `/routez` lists: to each peer, `poolSize()` pooled ones and one per pinned account. */
  routes(): Promise<RouteInfo[]>;
  /** SIGKILL, as a crashed or evicted pod: no shutdown, no goodbye to the peers. */
  kill(): Promise<void>;
  /** Starts the member again with the same configuration, ports and JetStream store. */
  start(): Promise<void>;
  stop(): Promise<void>;
}

export interface MemberOptions {
  readonly config: Config;
  readonly files: MemberFiles;
  readonly clusterName: string;
  readonly serverName: string;
  readonly ports: MemberPorts;
  /** The route URLs this member dials. */
  readonly routes: readonly string[];
  /** A folder of its own for its configuration file and JetStream store. */
  readonly dir: string;
  readonly readyTimeoutMs?: number;
}

export interface MemberPorts {
  readonly client: number;
  readonly route: number;
  readonly monitor: number;
}

const DEFAULT_READY_TIMEOUT_MS = 20_000;

/** Free loopback ports, distinct from each other: held open together, then released. */
export async function freePorts(count: number): Promise<number[]> {
  const servers = await Promise.all(Array.from({ length: count }, () => new Promise<Server>((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, HOST, () => resolve(server));
  })));
  const ports = servers.map((server) => (server.address() as AddressInfo).port);
  await Promise.all(servers.map((server) => new Promise((resolve) => server.close(resolve))));
  return ports;
}

function getJson<T>(url: string, timeoutMs = 5000): Promise<T> {
  return new Promise((resolve, reject) => {
    const request = get(url, { timeout: timeoutMs }, (response) => {
      let body = '';
      response.setEncoding('utf8');
      response.on('data', (chunk: string) => { body += chunk; });
      response.on('end', () => {
        if (response.statusCode !== 200) reject(new Error(`GET ${url}: HTTP ${response.statusCode}: ${body}`));
        else {
          try {
            resolve(JSON.parse(body) as T);
          } catch (error) {
            reject(new Error(`GET ${url}: not JSON (${(error as Error).message}): ${body.slice(0, 200)}`));
          }
        }
      });
    });
    request.on('timeout', () => request.destroy(new Error(`GET ${url}: no answer within ${timeoutMs} ms`)));
    request.on('error', reject);
  });
}

function ended(child: ChildProcess): boolean {
  return child.exitCode !== null || child.signalCode !== null;
}

function killed(child: ChildProcess, signal: NodeJS.Signals): Promise<void> {
  if (ended(child)) return Promise.resolve();
  return new Promise((resolve) => {
    const hard = setTimeout(() => child.kill('SIGKILL'), 3000);
    child.once('exit', () => {
      clearTimeout(hard);
      resolve();
    });
    child.kill(signal);
  });
}

/** The configuration file a member runs: the chart's settings plus a monitoring port (not part of the Helm values). */
export function memberConfig(options: Omit<MemberOptions, 'dir' | 'readyTimeoutMs'> & { storeDir?: string }): NatsServerConfig & { http: string } {
  const { files, ports } = options;
  const settings = natsServerConfig(
    shippedNatsValues(options.config),
    { host: HOST, port: ports.client, caFile: files.caFile, certFile: files.certFile, keyFile: files.keyFile },
    {
      name: options.clusterName, serverName: options.serverName, host: HOST, port: ports.route, routes: options.routes,
      certFile: files.routeCertFile, keyFile: files.routeKeyFile, storeDir: options.storeDir,
    },
  );
  return { ...settings, http: `${HOST}:${ports.monitor}` };
}

/** Starts one cluster member and resolves once it accepts clients and routes. */
export async function startMember(options: MemberOptions): Promise<ClusterMember> {
  mkdirSync(options.dir, { recursive: true });
  const configFile = join(options.dir, 'nats-server.json');
  const settings = memberConfig({ ...options, storeDir: join(options.dir, 'jetstream') });
  writeFileSync(configFile, JSON.stringify(settings, null, 2));
  const monitorUrl = `http://${HOST}:${options.ports.monitor}`;
  const readyTimeoutMs = options.readyTimeoutMs ?? DEFAULT_READY_TIMEOUT_MS;

  let child: ChildProcess | undefined;
  let output = '';
  let serverId = '';
  let poolSize = 0;

  const run = async (): Promise<void> => {
    if (child && !ended(child)) throw new Error(`${options.serverName} is already running`);
    const started = output.length;
    const current = track(spawn(natsServerBin(), ['-c', configFile], { stdio: ['ignore', 'pipe', 'pipe'] }));
    child = current;
    try {
      await whenReady(current, options.serverName, readyTimeoutMs, (chunk) => {
        output += chunk;
        return READY.every((pattern) => pattern.test(output.slice(started))) ? true : undefined;
      }, () => output.slice(started));
      const varz = await getJson<{ server_id: string; cluster: { pool_size: number } }>(`${monitorUrl}/varz`);
      serverId = varz.server_id;
      poolSize = varz.cluster.pool_size;
    } catch (error) {
      await killed(current, 'SIGKILL');
      throw error;
    }
  };

  await run();
  return {
    serverName: options.serverName,
    url: `tls://${HOST}:${options.ports.client}`,
    routeUrl: `tls://${HOST}:${options.ports.route}`,
    routePort: options.ports.route,
    serverId: () => serverId,
    poolSize: () => poolSize,
    isRunning: () => child !== undefined && !ended(child),
    logs: () => output,
    waitForLog: async (pattern, since, timeoutMs = 10_000) => {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const match = pattern.exec(output.slice(since));
        if (match) return match[0];
        if (Date.now() > deadline) {
          throw new Error(`${options.serverName} logged nothing matching ${pattern} within ${timeoutMs} ms:\n${output.slice(since)}`);
        }
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    },
    monitor: <T>(path: string) => getJson<T>(`${monitorUrl}${path}`),
    routes: async () => (await getJson<{ routes?: RouteInfo[] }>(`${monitorUrl}/routez`)).routes ?? [],
    kill: () => (child ? killed(child, 'SIGKILL') : Promise.resolve()),
    start: run,
    stop: () => (child ? killed(child, 'SIGTERM') : Promise.resolve()),
  };
}

export interface NatsCluster {
  readonly name: string;
  readonly members: readonly ClusterMember[];
  /** Every member's route URL: what a server joining this cluster dials. */
  readonly routeUrls: readonly string[];
  /**
   * Polls `/routez` until every running member has the full set of route connections to each other
   * running member, and no more (see meshProblems).
   */
  waitForMesh(timeoutMs?: number): Promise<void>;
  /** Stops every member and deletes every file of the cluster. */
  stop(): Promise<void>;
}

export interface NatsClusterOptions {
  readonly config: Config;
  readonly files: MemberFiles;
  /** @default config.nats.replicas */
  readonly size?: number;
  /** @default 'nats' */
  readonly name?: string;
  readonly readyTimeoutMs?: number;
}

/** A member's route connections per peer, e.g. `nats-1 (3 pooled, $SYS)`, in the order of the peers' names. */
function routeSummary(routes: readonly Pick<RouteInfo, 'remote_id' | 'account'>[], name: (id: string) => string): string[] {
  const byPeer = new Map<string, { pooled: number; pinned: string[] }>();
  for (const route of routes) {
    const peer = byPeer.get(route.remote_id) ?? { pooled: 0, pinned: [] };
    if (route.account) peer.pinned.push(route.account);
    else peer.pooled += 1;
    byPeer.set(route.remote_id, peer);
  }
  return [...byPeer].map(([id, { pooled, pinned }]) => `${name(id)} (${[`${pooled} pooled`, ...pinned.sort()].join(', ')})`).sort();
}

/**
 * What `/routez` shows that differs from a full mesh; empty when it is one. In a full mesh each
 * running member holds, to every other running member, its pool of route connections plus one per
 * pinned account, and nothing to anyone else. Two servers dialing each other create duplicates for
 * a moment; the mesh is complete once those are closed.
 */
export async function meshProblems(members: readonly ClusterMember[]): Promise<string[]> {
  const running = members.filter((member) => member.isRunning());
  const name = (id: string) => members.find((other) => other.serverId() === id)?.serverName ?? id;
  const problems: string[] = [];
  for (const member of running) {
    const seen = routeSummary(await member.routes(), name);
    const expected = routeSummary(running.filter((other) => other !== member).flatMap((other) => [
      ...Array.from({ length: member.poolSize() }, () => ({ remote_id: other.serverId() })),
      ...PINNED_ACCOUNTS.map((account) => ({ remote_id: other.serverId(), account })),
    ]), name);
    if (seen.join() !== expected.join()) {
      problems.push(`${member.serverName} routes to [${seen.join('; ')}], expected [${expected.join('; ')}]`);
    }
  }
  return problems;
}

/** Starts `size` members named `<name>-<i>` (as the StatefulSet names its pods), each routing to all the others. */
export async function startNatsCluster(options: NatsClusterOptions): Promise<NatsCluster> {
  const name = options.name ?? 'nats';
  const size = options.size ?? options.config.nats.replicas;
  const dir = mkdtempSync(join(tmpdir(), 'nats-cluster-'));
  const ports = await freePorts(3 * size);
  const memberPorts = Array.from({ length: size }, (_, i): MemberPorts => ({
    client: ports[3 * i], route: ports[3 * i + 1], monitor: ports[3 * i + 2],
  }));
  const routeUrls = memberPorts.map((p) => `tls://${HOST}:${p.route}`);

  const started = await Promise.allSettled(memberPorts.map((p, i) => startMember({
    config: options.config, files: options.files, clusterName: name, serverName: `${name}-${i}`, ports: p,
    routes: routeUrls.filter((_, j) => j !== i), dir: join(dir, `${name}-${i}`), readyTimeoutMs: options.readyTimeoutMs,
  })));
  const members = started.flatMap((result) => (result.status === 'fulfilled' ? [result.value] : []));
  const stop = async () => {
    await Promise.all(members.map((member) => member.stop()));
    rmSync(dir, { recursive: true, force: true });
  };
  const failed = started.find((result): result is PromiseRejectedResult => result.status === 'rejected');
  if (failed) {
    await stop();
    throw failed.reason;
  }

  return {
    name,
    members,
    routeUrls,
    waitForMesh: async (timeoutMs = 30_000) => {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const problems = await meshProblems(members);
        if (problems.length === 0) return;
        if (Date.now() > deadline) throw new Error(`no full mesh within ${timeoutMs} ms: ${problems.join('; ')}`);
        await new Promise((resolve) => setTimeout(resolve, 200));
      }
    },
    stop,
  };
}

/**
 * Polls `probe` until it yields a value (not undefined or null) and returns it; a probe that throws
 * counts as "not yet" (a server still electing a leader, a monitor port not yet open). Throws after
 * `timeoutMs` with the last error, so a failure says what was awaited and why it never came.
 */
export async function eventually<T>(what: string | (() => string), timeoutMs: number, probe: () => Promise<T | undefined | null>): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const value = await probe();
      if (value !== undefined && value !== null) return value;
      last = undefined;
    } catch (error) {
      last = error;
    }
    if (Date.now() > deadline) {
      // Errors from node's own modules are not instances of the test realm's Error: read the message field.
      const why = last === undefined ? '' : `; last error: ${(last as { message?: string }).message ?? JSON.stringify(last)}`;
      throw new Error(`waited ${timeoutMs} ms for ${typeof what === 'string' ? what : what()}${why}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}
