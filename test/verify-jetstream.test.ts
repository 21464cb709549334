import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { parseConfig, type Config } from '../lib/config/config';
import { ensurePki, type PkiResult } from '../lib/pki/pki';
import { checkClusterServers } from '../lib/verify/cluster-servers';
import { proveJetStream } from '../lib/verify/jetstream';
import { jetstreamVerdict } from '../lib/verify/jetstream-check';
import { loadKeyMaterial } from '../lib/verify/keys';
import { verifyOptions } from '../lib/verify/options';
import { ProgressBoard } from '../lib/verify/progress';
import { summarize, type CheckResult } from '../lib/verify/report';
import { runVerify } from '../lib/verify/verify';
import { startHttpsEcho, type HttpsEcho } from './support/fake-servers';
import { memberFiles, startNatsCluster, type NatsCluster } from './support/nats-cluster';
import { startNatsServer, type RunningNatsServer } from './support/nats-server';

/**
 * `npm run verify` proving the cluster from the client side: a throwaway stream on real nats-server
 * processes configured by natsServerConfig (three routed servers with JetStream, or one without).
 */

const CLUSTER_CONFIG = parseConfig({ nats: { replicas: 3, jetstream: { enabled: true } } });
/** One server, and the configuration says JetStream is on: what a deployment that has not been rolled out looks like. */
const SINGLE_CONFIG = parseConfig({ nats: { jetstream: { enabled: true } } });
/** Every authorized identity kept to its own subjects: none may use the JetStream API. */
const RESTRICTED_CONFIG = parseConfig({
  nats: { jetstream: { enabled: true } },
  pki: { identities: [{ name: 'app', email: 'app@example.com', authorized: true, permissions: { publish: { allow: ['app.>'] } } }] },
});

const work = mkdtempSync(join(tmpdir(), 'verify-jetstream-'));
let clusterPki: PkiResult;
let singlePki: PkiResult;
let restrictedPki: PkiResult;
let http: Server;
let httpUrl: string;
const httpsEchoes: HttpsEcho[] = [];

beforeAll(async () => {
  [clusterPki, singlePki, restrictedPki] = await Promise.all([
    ensurePki(CLUSTER_CONFIG, { baseDir: join(work, 'cluster') }),
    ensurePki(SINGLE_CONFIG, { baseDir: join(work, 'single') }),
    ensurePki(RESTRICTED_CONFIG, { baseDir: join(work, 'restricted') }),
  ]);
  http = createServer((_request, response) => response.writeHead(200).end(`${CLUSTER_CONFIG.echo.text}\n`));
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
  httpUrl = `http://127.0.0.1:${(http.address() as AddressInfo).port}`;
}, 120_000);

afterAll(async () => {
  await Promise.all(httpsEchoes.map((echo) => echo.close()));
  await new Promise((resolve) => http.close(resolve));
  rmSync(work, { recursive: true, force: true });
});

/** The options `verify` builds for `config` against `natsUrl`, with http-echo over HTTP and HTTPS answering as deployed. */
async function optionsFor(config: Config, pki: PkiResult, natsUrl: string, timeout: number) {
  const https = await startHttpsEcho({
    cert: readFileSync(pki.paths.echoCert, 'utf8'), key: readFileSync(pki.paths.echoKey, 'utf8'), text: config.echo.text,
  });
  httpsEchoes.push(https);
  return { ...verifyOptions({ _: [], 'echo-url': httpUrl, 'https-url': https.url, 'nats-url': natsUrl, timeout }, config), keys: pki.paths };
}

const rowStartingWith = (results: readonly CheckResult[], check: string): CheckResult =>
  results.find((result) => result.check.startsWith(check))
  ?? ({ check: `(no row starting ${check} in ${results.map((r) => r.check).join(', ')})` } as CheckResult);

describe('the stream row\'s verdict', () => {
  const options = verifyOptions({ _: [] }, CLUSTER_CONFIG);
  const proved = (peers: string[]) => ({ kind: 'jetstream', proof: { kind: 'proved', leader: peers[0], peers } }) as const;

  test('passes with exactly nats.replicas peers, and fails with fewer or more, saying how many', () => {
    expect(jetstreamVerdict(proved(['nats-1', 'nats-0', 'nats-2']), options, 3)).toMatchObject({ ok: true, cause: undefined });
    expect(jetstreamVerdict(proved(['nats-1', 'nats-0']), options, 3)).toEqual({
      got: 'stored, read back and deleted on 2 peers: nats-1 (leader), nats-0', ok: false,
      cause: 'the stream has 2 peers, not nats.replicas (3): are all servers up?',
    });
    expect(jetstreamVerdict(proved(['nats-0', 'nats-1', 'nats-2', 'nats-3']), options, 3)).toMatchObject({ ok: false });
  });
});

describe('the cluster servers row', () => {
  test('passes as not applicable, trying nothing, when no authorized identity may ask the servers', async () => {
    // GIVEN three servers configured, and the only authorized identity kept to publishing on app.>
    const config = parseConfig({ ...RESTRICTED_CONFIG, nats: { replicas: 3 } });
    const options = { ...verifyOptions({ _: [], 'nats-url': 'tls://127.0.0.1:1' }, config), keys: restrictedPki.paths };
    const board = new ProgressBoard(Date.now(), {});
    // WHEN the row is checked THEN it says why nothing was asked, and passes
    expect(await checkClusterServers(options, loadKeyMaterial(options), Date.now() + 5000, board)).toEqual([expect.objectContaining({
      check: 'nats cluster servers', expected: '3 servers answer: nats-0, nats-1, nats-2', ok: true, ms: 0,
      got: 'not applicable: no authorized identity may ask the servers ($SYS.REQ.ACCOUNT.PING.STATZ) and receive their replies (_INBOX.>)',
    })]);
    board.stop();
  });
});

describe('nats.replicas: 3 with JetStream — a real three-server cluster', () => {
  let cluster: NatsCluster | undefined;

  beforeAll(async () => {
    cluster = await startNatsCluster({ config: CLUSTER_CONFIG, files: memberFiles(clusterPki.paths) });
    await cluster.waitForMesh(45_000);
  }, 90_000);

  afterAll(async () => {
    await cluster?.stop();
  });

  test('stores a message in a stream replicated on the three servers, names them, and deletes the stream', async () => {
    // GIVEN three routed servers with JetStream, configured like the chart for replicas: 3
    // The routes are up, but JetStream may still be electing its meta leader: a request sent then can go
    // unanswered, which costs one request bound (10 s) before verify asks again; the deadline leaves
    // room for several such rounds on a busy machine, and verify returns as soon as the stream is proven.
    const options = await optionsFor(CLUSTER_CONFIG, clusterPki, cluster!.members[0].url, 60);

    // WHEN verify runs (JetStream may still be electing its leader: the check retries until the deadline)
    const results = await runVerify(options);

    // THEN the stream row passes as client1, naming the leader and both other servers
    const row = rowStartingWith(results, 'nats jetstream stream');
    expect(row).toMatchObject({ check: 'nats jetstream stream (as client1)', expected: 'a stream on 3 peers: stored, read back, deleted', ok: true });
    expect(row.got).toMatch(/^stored, read back and deleted on 3 peers: nats-\d \(leader\), nats-\d, nats-\d$/);
    expect(new Set(row.got.match(/nats-\d/g))).toEqual(new Set(['nats-0', 'nats-1', 'nats-2']));
    // AND every server answered by name
    expect(rowStartingWith(results, 'nats cluster servers')).toMatchObject({ got: 'all 3 answer: nats-0, nats-1, nats-2', ok: true });
    // AND every other check passed too
    expect(results.filter((result) => !result.ok)).toEqual([]);

    // AND no stream is left on the cluster
    const nc = await connect({
      servers: cluster!.members[1].url, tls: { ca: readFileSync(clusterPki.paths.caCert, 'utf8'),
        cert: readFileSync(clusterPki.paths.identityCert('client1'), 'utf8'), key: readFileSync(clusterPki.paths.identityKey('client1'), 'utf8') },
      timeout: 10_000,
    });
    try {
      const names: string[] = [];
      for await (const name of (await jetstreamManager(nc, { timeout: 10_000 })).streams.names()) names.push(name);
      expect(names).toEqual([]);
    } finally {
      await nc.close();
    }
  }, 120_000);

  test('one server down: says within seconds that the cluster is degraded, which server is missing, and that the rest is healthy', async () => {
    // GIVEN nats-2 is killed, and the other two have dropped their routes to it
    await cluster!.members[2].kill();
    await cluster!.waitForMesh(30_000);

    // WHEN verify runs with its default minute
    const options = await optionsFor(CLUSTER_CONFIG, clusterPki, cluster!.members[0].url, 60);
    const started = Date.now();
    const results = await runVerify(options);
    const elapsed = Date.now() - started;

    // THEN it is over in seconds, not at the deadline
    expect(elapsed).toBeLessThan(15_000);
    // AND the cluster row names the two servers that answer and the one that does not
    const degraded = 'the NATS cluster is degraded: nats-2 does not answer (2 of 3 servers do) — look at it with `kubectl -n nats get pods` ' +
      'and `kubectl -n nats describe pod nats-2`';
    expect(rowStartingWith(results, 'nats cluster servers')).toMatchObject({
      check: 'nats cluster servers (as client1)', expected: '3 servers answer: nats-0, nats-1, nats-2',
      got: '2 of 3 answer: nats-0, nats-1; missing: nats-2', ok: false, degraded: true, cause: degraded,
    });
    // AND the stream is not tried (placing it would depend on whether JetStream has noticed yet), for that reason
    expect(rowStartingWith(results, 'nats jetstream stream')).toMatchObject({
      check: 'nats jetstream stream (as client1)', got: 'not tried: the cluster is degraded (nats cluster servers)', ok: false, degraded: true, cause: degraded,
    });
    // AND every other check passed, which the summary says after the degradation
    expect(results.filter((result) => !result.ok).map((result) => result.check)).toEqual(['nats cluster servers (as client1)', 'nats jetstream stream (as client1)']);
    expect(summarize(results, options)).toBe(`${degraded} (nats cluster servers (as client1), nats jetstream stream (as client1)); ` +
      `every other check passed (${results.length - 2} of ${results.length}): the rest of the deployment is healthy`);
  }, 120_000);
});

describe('a single server with JetStream, as the chart runs nats.replicas: 1', () => {
  let server: RunningNatsServer | undefined;
  const storeDir = join(work, 'single-jetstream-store');

  beforeAll(async () => {
    // natsServerConfig turns JetStream on for cluster members only; the chart names its one server nats-0
    server = await startNatsServer({
      config: SINGLE_CONFIG, caFile: singlePki.paths.caCert, certFile: singlePki.paths.serverCert, keyFile: singlePki.paths.serverKey,
      adjust: (settings) => ({ ...settings, server_name: 'nats-0', jetstream: { store_dir: storeDir } }),
    });
  }, 30_000);

  afterAll(async () => {
    await server?.stop();
  });

  test('proves the stream beside a user stream that owns verify.>, and names the one server plainly', async () => {
    // GIVEN a stream of the user's own that covers every verify.> subject
    const tls = {
      ca: readFileSync(singlePki.paths.caCert, 'utf8'),
      cert: readFileSync(singlePki.paths.identityCert('client1'), 'utf8'), key: readFileSync(singlePki.paths.identityKey('client1'), 'utf8'),
    };
    const nc = await connect({ servers: server!.url, tls, timeout: 10_000 });
    try {
      const jsm = await jetstreamManager(nc, { timeout: 10_000 });
      await jsm.streams.add({ name: 'AUDIT', subjects: ['verify.>'] });

      // WHEN verify runs
      const results = await runVerify(await optionsFor(SINGLE_CONFIG, singlePki, server!.url, 20));

      // THEN the stream row passes (its subject is one no user stream owns), naming the server once, without a leader to point at
      expect(rowStartingWith(results, 'nats jetstream stream')).toMatchObject({
        check: 'nats jetstream stream (as client1)', got: 'stored, read back and deleted on 1 peer: nats-0', ok: true,
      });
      expect(results.filter((result) => !result.ok)).toEqual([]);
      // AND the user's stream is untouched, and nothing else is left
      const names: string[] = [];
      for await (const name of jsm.streams.names()) names.push(name);
      expect(names).toEqual(['AUDIT']);
    } finally {
      await nc.close();
    }
  }, 60_000);
});

describe('a single server', () => {
  let server: RunningNatsServer | undefined;

  beforeAll(async () => {
    // natsServerConfig gives a server without a cluster no JetStream block: JetStream is off, whatever the configuration says
    server = await startNatsServer({
      config: SINGLE_CONFIG, caFile: singlePki.paths.caCert, certFile: singlePki.paths.serverCert, keyFile: singlePki.paths.serverKey,
    });
  }, 30_000);

  afterAll(async () => {
    await server?.stop();
  });

  test('fails the stream row naming JetStream as not enabled when the configuration says it is', async () => {
    // GIVEN a server without JetStream, and nats.jetstream.enabled: true
    const options = await optionsFor(SINGLE_CONFIG, singlePki, server!.url, 6);

    // WHEN verify runs with a 6 s bound (room for the other checks on a busy machine)
    const results = await runVerify(options);

    // THEN the stream row fails, saying so and what to do; the other checks still pass
    const row = rowStartingWith(results, 'nats jetstream stream');
    expect(row).toMatchObject({
      check: 'nats jetstream stream (as client1)', expected: 'a stream on 1 peer: stored, read back, deleted',
      got: 'JetStream is not enabled on the server', ok: false,
      cause: 'nats.jetstream.enabled is true, but the server runs without JetStream: deploy it with `npx zx scripts/up.mjs`',
    });
    expect(results.filter((result) => !result.ok).map((result) => result.check)).toEqual([row.check]);
  }, 30_000);

  test('a JetStream API request nobody answers ends the attempt after one request bound, as retryable', async () => {
    // GIVEN something takes every $JS.API request and never answers, as while a cluster elects its meta leader
    const tls = {
      ca: readFileSync(singlePki.paths.caCert, 'utf8'),
      cert: readFileSync(singlePki.paths.identityCert('client1'), 'utf8'), key: readFileSync(singlePki.paths.identityKey('client1'), 'utf8'),
    };
    const swallower = await connect({ servers: server!.url, tls, timeout: 10_000 });
    swallower.subscribe('$JS.API.>');
    await swallower.flush();
    const nc = await connect({ servers: server!.url, tls, timeout: 10_000 });
    try {
      // WHEN the proof runs with a whole minute for its session but 1 s per request
      const proof = await proveJetStream(nc, 1, 60_000, 1_000);
      // THEN the first step fails after that second, marked for a retry in a new session
      expect(proof).toMatchObject({ kind: 'failed', step: 'reach the JetStream API', retry: true });
      expect(proof.kind === 'failed' && proof.detail).toMatch(/^(no answer within 1\.0 s|timeout)$/);
    } finally {
      await nc.close();
      await swallower.close();
    }
  }, 30_000);

  test('passes the stream row as not applicable when no authorized identity may use the JetStream API', async () => {
    // GIVEN the only authorized identity may publish to app.> alone
    const restricted = await startNatsServer({
      config: RESTRICTED_CONFIG, caFile: restrictedPki.paths.caCert, certFile: restrictedPki.paths.serverCert, keyFile: restrictedPki.paths.serverKey,
    });
    try {
      // WHEN verify runs
      const results = await runVerify(await optionsFor(RESTRICTED_CONFIG, restrictedPki, restricted.url, 5));

      // THEN the row says why nothing was tried, and does not fail the run
      expect(rowStartingWith(results, 'nats jetstream stream')).toMatchObject({
        check: 'nats jetstream stream',
        got: 'not applicable: no authorized identity may use the JetStream API ($JS.API.>) and _INBOX.> for its replies and stream', ok: true,
      });
    } finally {
      await restricted.stop();
    }
  }, 30_000);
});
