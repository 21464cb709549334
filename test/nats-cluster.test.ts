import { X509Certificate } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { checkServerIdentity, connect as tlsConnect } from 'node:tls';
import { jetstream, jetstreamManager, StorageType, type JetStreamManager } from '@nats-io/jetstream';
import { connect, errors, type NatsConnection } from '@nats-io/transport-node';
import { Testing } from 'cdk8s';
import { parseConfig } from '../lib/config/config';
import { NatsMutualTls } from '../lib/constructs';
import { natsRouteUrls } from '../lib/nats/chart';
import { probePublish } from '../lib/nats/permissions';
import { natsUsers } from '../lib/nats/values';
import { ensurePki, type PkiResult } from '../lib/pki/pki';
import {
  eventually, freePorts, meshProblems, memberConfig, memberFiles, startMember, startNatsCluster, type ClusterMember, type NatsCluster,
} from './support/nats-cluster';

/**
 * The cluster the chart deploys for `nats.replicas: 3`, as real nats-server processes configured by
 * natsServerConfig: routes over mutual TLS with the route certificate, and JetStream replicated
 * across the servers. Sized for a busy 2-core machine: every wait is a bounded poll, never a sleep.
 */

const IDENTITIES = [
  { name: 'client1', email: 'client1@example.com', authorized: true },
  // A NATS user whose publish permissions leave out the JetStream API ($JS.API.>).
  { name: 'app', email: 'app@example.com', authorized: true, permissions: { publish: { allow: ['app.>'] } } },
];
const routed = parseConfig({ nats: { replicas: 3 }, pki: { identities: IDENTITIES } });
const streaming = parseConfig({ nats: { replicas: 3, jetstream: { enabled: true } }, pki: { identities: IDENTITIES } });

const work = mkdtempSync(join(tmpdir(), 'nats-cluster-test-'));
const KEY_TYPES = ['rsa', 'ecdsa'] as const;
/** Our PKI and a second CA's with the same names, for each key type the routes are proven with. */
const pkis = {} as Record<typeof KEY_TYPES[number], { ours: PkiResult; foreign: PkiResult }>;

beforeAll(async () => {
  // One PKI per key type serves both configurations: they differ in JetStream only, not in what is issued.
  await Promise.all(KEY_TYPES.map(async (keyType) => {
    const issuing = parseConfig({ nats: { replicas: 3, jetstream: { enabled: true } }, pki: { keyType, identities: IDENTITIES } });
    const [ours, foreign] = await Promise.all(['ours', 'foreign'].map((dir) => ensurePki(issuing, { baseDir: join(work, keyType, dir) })));
    pkis[keyType] = { ours, foreign };
  }));
}, 120_000);

afterAll(() => rmSync(work, { recursive: true, force: true }));

describe.each(KEY_TYPES)('nats.replicas: 3 — three servers route to each other over mutual TLS (pki.keyType %s)', (keyType) => {
  let cluster: NatsCluster | undefined;
  let intruder: ClusterMember | undefined;
  let pki: PkiResult;
  let foreign: PkiResult;

  beforeAll(async () => {
    ({ ours: pki, foreign } = pkis[keyType]);
    cluster = await startNatsCluster({ config: routed, files: memberFiles(pki.paths) });
  }, 60_000);

  afterAll(async () => {
    await intruder?.stop();
    await cluster?.stop();
  });

  test('each member runs the chart\'s route TLS: the route certificate, our CA, verify', () => {
    const settings = memberConfig({
      config: routed, files: memberFiles(pki.paths), clusterName: 'nats', serverName: 'nats-0',
      ports: { client: 1, route: 2, monitor: 3 }, routes: ['tls://127.0.0.1:4'],
    });
    expect(settings.cluster?.tls).toEqual({ ca_file: pki.paths.caCert, cert_file: pki.paths.routeCert, key_file: pki.paths.routeKey, verify: true });
    expect(settings.jetstream).toBeUndefined();
  });

  test('every server\'s /routez lists exactly the other two, each over the default route pool and a system account route', async () => {
    // GIVEN three servers, each dialing the other two's route ports over TLS
    const members = cluster!.members;
    expect(members).toHaveLength(3);
    // WHEN they have had time to connect THEN each one's /routez names the other two by server ID
    await cluster!.waitForMesh(45_000);
    for (const member of members) {
      const routes = await member.routes();
      const others = members.filter((m) => m !== member);
      expect([member.serverName, [...new Set(routes.map((route) => route.remote_id))].sort()])
        .toEqual([member.serverName, others.map((m) => m.serverId()).sort()]);
      // AND to each, as nats-server 2.10+ does unless told otherwise (the chart does not): 3 pooled
      // connections and one pinned to $SYS — 4 connections per peer, not 1 as in 2.9
      expect(member.poolSize()).toBe(3);
      for (const other of others) {
        const toOther = routes.filter((route) => route.remote_id === other.serverId());
        expect([other.serverName, toOther.map((route) => route.account ?? 'pooled').sort()]).toEqual([other.serverName, ['$SYS', 'pooled', 'pooled', 'pooled']]);
      }
    }
  }, 60_000);

  test('a server whose route certificate comes from another CA is refused by every member', async () => {
    await cluster!.waitForMesh(45_000);
    const marks = cluster!.members.map((member) => member.logs().length);
    // GIVEN a fourth server that trusts our CA (so the refusal can only come from the cluster's own
    // check of the certificate it is shown) but holds a route certificate from a second CA with the same names
    const [client, route, monitor] = await freePorts(3);
    intruder = await startMember({
      config: routed,
      files: { ...memberFiles(foreign.paths), caFile: pki.paths.caCert },
      clusterName: cluster!.name, serverName: 'nats-3', ports: { client, route, monitor },
      routes: cluster!.routeUrls, dir: join(work, keyType, 'intruder'),
    });
    // WHEN it dials each member's route port
    // THEN each member fails the TLS handshake on the intruder's certificate
    await Promise.all(cluster!.members.map((member, i) =>
      member.waitForLog(/TLS route handshake error: .*x509: certificate signed by unknown authority/, marks[i], 30_000)));
    // AND no route to it exists on either side, while the three keep their mesh
    expect(await intruder.routes()).toEqual([]);
    for (const member of cluster!.members) {
      expect((await member.routes()).map((r) => r.remote_id)).not.toContain(intruder.serverId());
    }
    expect(await meshProblems(cluster!.members)).toEqual([]);
  }, 60_000);

  describe('the route certificate names every host the chart\'s route URLs dial', () => {
    const chartHosts = () => {
      const nats = new NatsMutualTls(Testing.chart(), 'nats', {
        tls: { caCert: pki.caCert, serverCert: pki.serverCert, serverKey: pki.serverKey, route: pki.route },
        users: natsUsers(routed.pki.identities), namespace: routed.nats.namespace, release: routed.nats.release, replicas: routed.nats.replicas,
      });
      expect(nats.routeUrls).toEqual(natsRouteUrls('nats', 3));
      const short = nats.routeUrls.map((url) => new URL(url).hostname);
      // The chart's routeURLs.useFQDN form of the same pods.
      return [...short, ...short.map((host) => `${host}.${routed.nats.namespace}.svc.cluster.local`)];
    };

    test('checkServerIdentity accepts the short and FQDN names of pods 0–2, and refuses a 4th pod', () => {
      const hosts = chartHosts();
      expect(hosts).toContain('nats-2.nats-headless');
      expect(hosts).toContain('nats-0.nats-headless.nats.svc.cluster.local');
      const cert = new X509Certificate(pki.route!.cert).toLegacyObject();
      for (const host of hosts) expect([host, checkServerIdentity(host, cert)]).toEqual([host, undefined]);
      // node's own Error class, not jest's: compare the code and the message
      const beyond = checkServerIdentity('nats-3.nats-headless', cert);
      expect(beyond).toHaveProperty('code', 'ERR_TLS_CERT_ALTNAME_INVALID');
      expect(beyond?.message).toContain('Host: nats-3.nats-headless. is not in the cert\'s altnames');
    });

    test('a member\'s route listener presents it: a TLS handshake under each name verifies with our CA', async () => {
      const member = cluster!.members[0];
      const handshake = (servername: string) => new Promise<void>((resolve, reject) => {
        const socket = tlsConnect({
          host: '127.0.0.1', port: member.routePort, servername, ca: pki.caCert, cert: pki.route!.cert, key: pki.route!.key, timeout: 10_000,
        });
        socket.once('secureConnect', () => {
          socket.destroy();
          resolve();
        });
        socket.once('timeout', () => socket.destroy(new Error(`no TLS handshake with ${servername} within 10 s`)));
        socket.once('error', reject);
      });
      // GIVEN the names the routes dial (they do not resolve here: the name goes in SNI and verification)
      for (const host of chartHosts()) await expect(handshake(host)).resolves.toBeUndefined();
      await expect(handshake('nats-3.nats-headless')).rejects.toMatchObject({ code: 'ERR_TLS_CERT_ALTNAME_INVALID' });
    }, 60_000);
  });
});

interface StreamState {
  messages: number;
  last_seq: number;
}

/** What a server's `/jsz` reports about JetStream on that server: its view of the meta group, and its own replicas. */
interface Jsz {
  meta_cluster?: { leader?: string; cluster_size?: number };
  account_details?: Array<{ name: string; stream_detail?: Array<{ name: string; state: StreamState }> }>;
}

describe('nats.replicas: 3 with JetStream — a replicated stream survives a killed server', () => {
  let cluster: NatsCluster | undefined;
  const connections: NatsConnection[] = [];
  /** JetStream's replication does not depend on the key type: the default (RSA) PKI. */
  let pki: PkiResult;

  const connectAs = async (identity: string, member: ClusterMember): Promise<NatsConnection> => {
    const nc = await connect({
      servers: member.url, reconnect: false, timeout: 10_000,
      tls: { caFile: pki.paths.caCert, certFile: pki.paths.identityCert(identity), keyFile: pki.paths.identityKey(identity) },
    });
    connections.push(nc);
    return nc;
  };

  beforeAll(async () => {
    pki = pkis.rsa.ours;
    cluster = await startNatsCluster({ config: streaming, files: memberFiles(pki.paths) });
    await cluster.waitForMesh(45_000);
    // Streams can be created once the JetStream meta group has a leader that every member knows.
    await eventually('a JetStream meta leader known to all three servers', 45_000, async () => {
      const leaders = await Promise.all(cluster!.members.map(async (member) => (await member.monitor<Jsz>('/jsz')).meta_cluster?.leader));
      return leaders.every((leader) => leader && leader === leaders[0]) ? leaders[0] : undefined;
    });
  }, 120_000);

  afterAll(async () => {
    await Promise.all(connections.map((nc) => nc.close()));
    await cluster?.stop();
  });

  test('each member runs JetStream in a store of its own', () => {
    const settings = memberConfig({
      config: streaming, files: memberFiles(pki.paths), clusterName: 'nats', serverName: 'nats-1',
      ports: { client: 1, route: 2, monitor: 3 }, routes: [], storeDir: '/data/nats-1',
    });
    expect(settings.server_name).toBe('nats-1');
    expect(settings.jetstream).toEqual({ store_dir: '/data/nats-1' });
  });

  test('an identity whose permissions leave out $JS.API is refused by the JetStream API; client1 is not', async () => {
    const [first] = cluster!.members;
    const [app, client1] = await Promise.all([connectAs('app', first), connectAs('client1', first)]);
    // WHEN the restricted user asks for the JetStream API (jetstreamManager asks $JS.API.INFO)
    const mark = first.logs().length;
    const refusal = await jetstreamManager(app).then(() => undefined, (error: unknown) => error);
    // THEN the server answers with a Permissions Violation for that API subject (nats.js wraps it as the request's cause)
    expect(refusal).toBeInstanceOf(errors.RequestError);
    const cause = (refusal as Error).cause;
    expect(cause).toBeInstanceOf(errors.PermissionViolationError);
    expect(cause).toMatchObject({ operation: 'publish', subject: '$JS.API.INFO' });
    await first.waitForLog(/Publish Violation.*\$JS\.API\.INFO/, mark);
    // AND the user is otherwise admitted: its own subjects are allowed
    expect(await probePublish(app, 'app.events')).toBe('allowed');
    // WHEN client1 (no permissions) asks THEN it gets the account's JetStream info
    const jsm = await jetstreamManager(client1);
    await expect(jsm.getAccountInfo()).resolves.toHaveProperty('streams');
  }, 60_000);

  test('a stream with 3 replicas: written on one server, read on another, writable with one killed, caught up after restart', async () => {
    const members = cluster!.members;
    const [first, , third] = members;
    const jsmOf = async (member: ClusterMember): Promise<JetStreamManager> => jetstreamManager(await connectAs('client1', member));

    // GIVEN client1 creates a stream replicated to all three servers
    const ncFirst = await connectAs('client1', first);
    const jsmFirst = await jetstreamManager(ncFirst);
    const created = await jsmFirst.streams.add({
      name: 'ORDERS', subjects: ['orders.>'], num_replicas: 3, storage: StorageType.File, allow_direct: true,
    });
    expect(created.config.num_replicas).toBe(3);
    expect(created.cluster?.replicas).toHaveLength(2);

    // WHEN a message is published through the first server
    const ack = await jetstream(ncFirst).publish('orders.1', 'first', { msgID: 'order-1' });
    expect(ack).toMatchObject({ stream: 'ORDERS', seq: 1 });
    // THEN a client of the third server reads it (a direct get, which any replica may answer, once it has it)
    const jsmThird = await jsmOf(third);
    const readOnThird = await eventually(`reading orders.1 through ${third.serverName}`, 30_000,
      () => jsmThird.direct.getMessage('ORDERS', { seq: 1 }));
    expect(readOnThird?.string()).toBe('first');

    // WHEN the stream's leader is killed with SIGKILL
    const leaderName = (await jsmFirst.streams.info('ORDERS')).cluster?.leader;
    const victim = members.find((member) => member.serverName === leaderName)!;
    expect(victim).toBeDefined();
    const survivor = members.find((member) => member !== victim)!;
    await victim.kill();
    expect(victim.isRunning()).toBe(false);
    // THEN the two left (a quorum) elect a leader and accept writes; the message ID makes a retried publish count once
    const js = jetstream(await connectAs('client1', survivor));
    for (const n of [2, 3]) {
      const seq = await eventually(`publishing orders.${n} with ${victim.serverName} down`, 60_000, async () =>
        (await js.publish(`orders.${n}`, `order ${n}`, { msgID: `order-${n}`, timeout: 3000 })).seq);
      expect(seq).toBe(n);
    }

    // WHEN the killed server starts again with its store
    const localState = async () => (await victim.monitor<Jsz>('/jsz?accounts=true&streams=true')).account_details
      ?.flatMap((account) => account.stream_detail ?? []).find((stream) => stream.name === 'ORDERS')?.state;
    await victim.start();
    // THEN it is back in the mesh (under a new server ID)
    await cluster!.waitForMesh(45_000);
    // AND its own replica (its /jsz reports the stream in its store) catches up on what it missed
    let seen: StreamState | undefined;
    const awaited = () => `${victim.serverName}'s replica to hold 3 messages (last seen: ${JSON.stringify(seen)})`;
    const caughtUp = await eventually(awaited, 60_000, async () => {
      seen = await localState();
      return seen?.messages === 3 ? seen : undefined;
    });
    expect(caughtUp).toMatchObject({ messages: 3, last_seq: 3 });
    // AND a client of the restarted server reads the message written while it was down
    const jsmVictim = await jsmOf(victim);
    const missed = await eventually(`reading orders.3 through ${victim.serverName}`, 30_000, () => jsmVictim.direct.getMessage('ORDERS', { seq: 3 }));
    expect(missed?.string()).toBe('order 3');
  }, 240_000);
});
