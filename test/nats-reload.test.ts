import { X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createConnection } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect as tlsConnect } from 'node:tls';
import { connect, errors, type ConnectionOptions, type NatsConnection, type Status } from '@nats-io/transport-node';
import { Config, parseConfig } from '../lib/config/config';
import { probePublish } from '../lib/nats/permissions';
import { natsUsers } from '../lib/nats/values';
import { ensurePki, PkiResult } from '../lib/pki/pki';
import { fleetIdentities } from './support/fixtures';
import { RunningNatsServer, startNatsServer } from './support/nats-server';

/**
 * Day-2 changes on a live server. In the cluster the chart's config reloader signals nats-server
 * when the ConfigMap or the TLS Secret changes, and no pod restarts; here the same server
 * configuration is rewritten and SIGHUP sent, and clients that stay connected across the
 * reload show what such a change does to them.
 */

const CLIENT1 = { name: 'client1', email: 'client1@example.com', authorized: true };
const SENSOR = { name: 'sensor', email: 'sensor@example.com', authorized: true };

/**
 * What the server logs when a certificate maps to no user. It names a user only when the client
 * sent one in CONNECT (nats-server's authViolation), which a certificate-mapped client does not.
 */
const REFUSED_CONNECT = / - authentication error$/m;

/** Generous for a loaded 2-core machine: a reload and a TLS connect take milliseconds when idle. */
const WAIT_MS = 15_000;
jest.setTimeout(60_000);

/** A scratch project with the PKI of `identities` and a real nats-server configured from them. */
async function scene(identities: object[], options: { debug?: boolean } = {}) {
  const work = mkdtempSync(join(tmpdir(), 'nats-reload-'));
  const config = parseConfig({ pki: { identities } });
  const pki = await ensurePki(config, { baseDir: work });
  const server = await startNatsServer({
    config, caFile: pki.paths.caCert, certFile: pki.paths.serverCert, keyFile: pki.paths.serverKey,
    // Debug logging is the only place nats-server names the reason it closed a connection.
    adjust: options.debug ? (settings) => ({ ...settings, debug: true }) : undefined,
  });
  const connections: NatsConnection[] = [];
  const as = async (name: string, extra: Partial<ConnectionOptions> = {}): Promise<NatsConnection> => {
    const nc = await connect({
      servers: server.url, reconnect: false, timeout: WAIT_MS, ...extra,
      tls: { caFile: pki.paths.caCert, certFile: pki.paths.identityCert(name), keyFile: pki.paths.identityKey(name) },
    });
    connections.push(nc);
    return nc;
  };
  const tearDown = async () => {
    await Promise.all(connections.map((nc) => nc.close().catch(() => undefined)));
    await server.stop();
    rmSync(work, { recursive: true, force: true });
  };
  return { work, config, pki, server, as, tearDown };
}

const withIdentities = (identities: object[]): Config => parseConfig({ pki: { identities } });

/** Publishes on a subject of its own and receives it back: the connection is alive and authorized both ways. */
async function roundTrip(nc: NatsConnection, subject: string): Promise<string> {
  const subscription = nc.subscribe(subject, { max: 1, timeout: WAIT_MS });
  await nc.flush();
  nc.publish(subject, `ping ${subject}`);
  for await (const message of subscription) return message.string();
  throw new Error(`nothing came back on ${subject}`);
}

/** Every status event of a connection from now on, for asserting what the client was (not) told. */
function recordStatus(nc: NatsConnection): Status[] {
  const events: Status[] = [];
  void (async () => {
    for await (const event of nc.status()) events.push(event);
  })();
  return events;
}

/** What `closed()` resolved with, or 'still open' when it did not within WAIT_MS. */
async function closedWithin(nc: NatsConnection): Promise<Error | undefined | 'still open'> {
  let timer: NodeJS.Timeout | undefined;
  const open = new Promise<'still open'>((resolve) => { timer = setTimeout(() => resolve('still open'), WAIT_MS); });
  try {
    return await Promise.race([nc.closed().then((error) => error ?? undefined), open]);
  } finally {
    clearTimeout(timer);
  }
}

const refusal = (attempt: Promise<unknown>): Promise<unknown> => attempt.then(() => 'connected', (error: unknown) => error);

/**
 * Connects as a NATS client with node's own TLS (INFO, TLS upgrade, CONNECT, PING) and returns the
 * SHA-256 fingerprint of the certificate the server presented, once the server answered PONG.
 */
function servedCertificate(server: RunningNatsServer, pki: PkiResult, identity: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = createConnection({ host: server.host, port: server.port });
    const timer = setTimeout(() => fail(new Error(`no PONG from ${server.url} within ${WAIT_MS} ms`)), WAIT_MS);
    const fail = (error: Error) => {
      clearTimeout(timer);
      socket.destroy();
      reject(error);
    };
    socket.once('error', fail);
    let greeting = '';
    const onGreeting = (chunk: Buffer) => {
      greeting += chunk.toString('utf8');
      if (!greeting.includes('\n')) return;
      socket.off('data', onGreeting);
      const secure = tlsConnect({
        socket, servername: 'localhost', ca: readFileSync(pki.paths.caCert),
        cert: readFileSync(pki.paths.identityCert(identity)), key: readFileSync(pki.paths.identityKey(identity)),
      }, () => {
        const fingerprint = secure.getPeerCertificate().fingerprint256;
        let reply = '';
        secure.on('data', (data: Buffer) => {
          reply += data.toString('utf8');
          if (!reply.includes('\n')) return;
          clearTimeout(timer);
          secure.end();
          if (reply.startsWith('PONG')) resolve(fingerprint);
          else reject(new Error(`server answered ${JSON.stringify(reply)}`));
        });
        const hello = { verbose: false, pedantic: false, tls_required: true, lang: 'node-tls', version: '0', protocol: 1 };
        secure.write(`CONNECT ${JSON.stringify(hello)}\r\nPING\r\n`);
      });
      secure.once('error', fail);
    };
    socket.on('data', onGreeting);
  });
}

const fingerprintOf = (pem: string): string => new X509Certificate(pem).fingerprint256;

describe('revoking an identity (authorized: false) and reloading', () => {
  let s: Awaited<ReturnType<typeof scene>>;
  beforeAll(async () => { s = await scene([CLIENT1, SENSOR], { debug: true }); });
  afterAll(async () => s?.tearDown());

  test('closes the revoked user\'s live connection without an error to it, keeps the others, and refuses its next connect', async () => {
    // GIVEN client1 and the sensor connected
    const client1 = await s.as('client1');
    const sensor = await s.as('sensor');
    const sensorStatus = recordStatus(sensor);
    const [client1Id, sensorId] = [client1.info!.client_id, sensor.info!.client_id];
    expect(await roundTrip(sensor, 'sensors.before')).toBe('ping sensors.before');
    const mark = s.server.logs().length;

    // WHEN the configuration no longer authorizes the sensor and the server reloads it
    await s.server.reload(withIdentities([CLIENT1, { ...SENSOR, authorized: false }]));

    // THEN the server closes the sensor's connection as "Client Closed" (its user is gone), not as an
    // authorization failure: no -ERR reaches the client, which just sees the socket end
    expect(await closedWithin(sensor)).toBeUndefined();
    expect(sensorStatus.map((event) => event.type)).toContain('disconnect');
    expect(sensorStatus.filter((event) => event.type === 'error')).toEqual([]);
    await s.server.waitForLog(new RegExp(`cid:${sensorId} - .*Client connection closed: Client Closed`), mark, WAIT_MS);
    // AND client1 keeps its connection and still publishes and receives
    expect(client1.isClosed()).toBe(false);
    expect(await roundTrip(client1, 'client1.after')).toBe('ping client1.after');
    expect(s.server.logs().slice(mark)).not.toMatch(new RegExp(`cid:${client1Id} - .*Client connection closed`));
    // AND the sensor's next connect is refused
    const next = await refusal(s.as('sensor'));
    expect(next).toBeInstanceOf(errors.AuthorizationError);
    expect((next as Error).message).toBe('Authorization Violation');
    await s.server.waitForLog(REFUSED_CONNECT, mark, WAIT_MS);
  });
});

describe('a revoked client that reconnects, as nats.js does by default', () => {
  let s: Awaited<ReturnType<typeof scene>>;
  beforeAll(async () => { s = await scene([CLIENT1, SENSOR]); });
  afterAll(async () => s?.tearDown());

  test('is refused on reconnect and ends closed with Authorization Violation', async () => {
    // GIVEN the sensor connected with reconnects on (bounded, so a client that never gives up still ends the test)
    const sensor = await s.as('sensor', { reconnect: true, reconnectTimeWait: 100, maxReconnectAttempts: 20 });
    const sensorStatus = recordStatus(sensor);
    const sensorId = sensor.info!.client_id;
    const mark = s.server.logs().length;
    // WHEN it is revoked by a reload
    await s.server.reload(withIdentities([CLIENT1, { ...SENSOR, authorized: false }]));
    // THEN it reconnects, the server refuses it, and nats.js gives up with the server's reason
    const closed = await closedWithin(sensor);
    expect(closed).toBeInstanceOf(errors.AuthorizationError);
    expect((closed as Error).message).toBe('Authorization Violation');
    expect(sensorStatus.map((event) => event.type)).toContain('reconnecting');
    // AND it gives up after the second refusal, long before its 20 reconnect attempts are spent
    expect(sensorStatus.filter((event) => event.type === 'error').map((event) => (event as { error: Error }).error.message))
      .toEqual(['Authorization Violation', 'Authorization Violation']);
    // AND at the chart's default log level only the refused reconnects show: nothing names the closed connection
    await s.server.waitForLog(REFUSED_CONNECT, mark, WAIT_MS);
    expect(s.server.logs().slice(mark)).not.toMatch(new RegExp(`cid:${sensorId} `));
  });
});

describe('adding an identity and reloading', () => {
  let s: Awaited<ReturnType<typeof scene>>;
  beforeAll(async () => { s = await scene([CLIENT1]); });
  afterAll(async () => s?.tearDown());

  test('admits its certificate after the reload, not before, and leaves connected clients alone', async () => {
    // GIVEN client1 connected, and a new identity in the configuration whose certificate ensurePki issued from the same CA
    const client1 = await s.as('client1');
    const added = withIdentities([CLIENT1, SENSOR]);
    const issued = await ensurePki(added, { baseDir: s.work });
    expect(issued.issued).toEqual([s.pki.paths.identityCert('sensor'), s.pki.paths.identityKey('sensor')]);
    expect(issued.caCert).toBe(s.pki.caCert);

    // WHEN it connects before the reload THEN the running server does not know the user yet
    const early = await refusal(s.as('sensor'));
    expect(early).toBeInstanceOf(errors.AuthorizationError);
    expect((early as Error).message).toBe('Authorization Violation');

    // WHEN the server reloads the configuration THEN the same certificate connects
    const mark = s.server.logs().length;
    await s.server.reload(added);
    // (every reload re-checks each connected client and warns, harmlessly, that its user comes from the certificate)
    await s.server.waitForLog(/\[WRN\] User "client1@example\.com" found in connect proto, but user required from cert/, mark);
    const sensor = await s.as('sensor');
    expect(await roundTrip(sensor, 'sensors.new')).toBe('ping sensors.new');
    // AND client1 was never disconnected
    expect(client1.isClosed()).toBe(false);
    expect(await roundTrip(client1, 'client1.after')).toBe('ping client1.after');
  });
});

describe('changing a user\'s permissions and reloading', () => {
  const sensorAllowed = (subjects: string[]) => ({ ...SENSOR, permissions: { publish: { allow: subjects }, subscribe: { allow: subjects } } });
  let s: Awaited<ReturnType<typeof scene>>;
  beforeAll(async () => { s = await scene([CLIENT1, sensorAllowed(['sensors.>'])]); });
  afterAll(async () => s?.tearDown());

  test('applies the new permissions to the live connection and drops its subscriptions they no longer allow', async () => {
    // GIVEN the sensor connected under publish/subscribe allow [sensors.>], subscribed to sensors.cmd
    const sensor = await s.as('sensor');
    expect(await probePublish(sensor, 'sensors.temp')).toBe('allowed');
    expect(await probePublish(sensor, 'metrics.cpu')).toBe('denied');
    const commands = sensor.subscribe('sensors.cmd');
    await sensor.flush();
    const mark = s.server.logs().length;

    // WHEN the configuration allows [metrics.>] instead and the server reloads it
    await s.server.reload(withIdentities([CLIENT1, sensorAllowed(['metrics.>'])]));

    // THEN the same connection may publish to metrics.> and no longer to sensors.>
    expect(await probePublish(sensor, 'metrics.cpu')).toBe('allowed');
    expect(await probePublish(sensor, 'sensors.temp')).toBe('denied');
    // AND the server removed the subscription the new permissions forbid, telling the client so
    const dropped = await commands.closed;
    expect(dropped).toBeInstanceOf(errors.PermissionViolationError);
    expect((dropped as Error).message).toBe('Permissions Violation for Subscription to "sensors.cmd" (sid "1")');
    await s.server.waitForLog(/Removed sub "sensors\.cmd" \(sid "1"\) for User "sensor@example\.com" - not authorized/, mark, WAIT_MS);
    // AND the connection itself stays open, and a new connection gets the same new permissions
    expect(sensor.isClosed()).toBe(false);
    const fresh = await s.as('sensor');
    expect(await probePublish(fresh, 'metrics.cpu')).toBe('allowed');
    expect(await probePublish(fresh, 'sensors.temp')).toBe('denied');
  });
});

describe('the Day 2 table of docs/day-2.md, done in order', () => {
  const LAPTOP = { name: 'laptop', email: 'laptop@example.com', authorized: true };
  const PERMISSIONS = { publish: { allow: ['sensors.>'] }, subscribe: { allow: ['_INBOX.>'] } };
  let s: Awaited<ReturnType<typeof scene>>;
  beforeAll(async () => { s = await scene([CLIENT1, LAPTOP]); });
  afterAll(async () => s?.tearDown());

  test('add, give permissions, revoke (keeping them), authorize again: each step one edit, loaded and reloaded', async () => {
    // GIVEN the laptop added, then given permissions
    await s.server.reload(withIdentities([CLIENT1, { ...LAPTOP, permissions: PERMISSIONS }]));
    const laptop = await s.as('laptop');
    expect(await probePublish(laptop, 'sensors.temp')).toBe('allowed');
    expect(await probePublish(laptop, 'orders.new')).toBe('denied');

    // WHEN it is revoked by setting authorized: false alone, its permissions left in place
    const revoked = withIdentities([CLIENT1, { ...LAPTOP, authorized: false, permissions: PERMISSIONS }]);
    // THEN the configuration keeps them, and no NATS user carries them
    expect(revoked.pki.identities[1]).toMatchObject({ authorized: false, permissions: PERMISSIONS });
    expect(natsUsers(revoked.pki.identities)).toEqual([{ user: 'client1@example.com' }]);
    // AND the server, reloading it, closes the laptop's connection and refuses its next one
    await s.server.reload(revoked);
    expect(await closedWithin(laptop)).toBeUndefined();
    const next = await refusal(s.as('laptop'));
    expect(next).toBeInstanceOf(errors.AuthorizationError);
    expect((next as Error).message).toBe('Authorization Violation');

    // WHEN authorized again THEN it connects with the permissions it kept
    await s.server.reload(withIdentities([CLIENT1, { ...LAPTOP, permissions: PERMISSIONS }]));
    const again = await s.as('laptop');
    expect(await probePublish(again, 'sensors.temp')).toBe('allowed');
    expect(await probePublish(again, 'orders.new')).toBe('denied');
  });
});

describe('rotating the server certificate (same CA, same files) and reloading', () => {
  let s: Awaited<ReturnType<typeof scene>>;
  beforeAll(async () => { s = await scene([CLIENT1]); });
  afterAll(async () => s?.tearDown());

  test('new connections get the new certificate after the reload, not before; connected clients stay', async () => {
    // GIVEN client1 connected, and the server presenting the certificate it started with
    const client1 = await s.as('client1');
    const original = fingerprintOf(s.pki.serverCert);
    expect(await servedCertificate(s.server, s.pki, 'client1')).toBe(original);

    // WHEN the server certificate is re-issued into the files the server reads
    const renewed = await ensurePki(s.config, { baseDir: s.work, renew: ['server'] });
    expect(renewed.issued).toEqual([s.pki.paths.serverCert, s.pki.paths.serverKey]);
    const rotated = fingerprintOf(renewed.serverCert);
    expect(rotated).not.toBe(original);
    // THEN until the reload, new connections still get the one in memory
    expect(await servedCertificate(s.server, s.pki, 'client1')).toBe(original);

    // WHEN the server reloads
    const mark = s.server.logs().length;
    await s.server.reload();
    await s.server.waitForLog(/Reloaded: tls = enabled/, mark);

    // THEN new connections get the new certificate, and nats.js trusts it through the same CA
    expect(await servedCertificate(s.server, s.pki, 'client1')).toBe(rotated);
    const fresh = await s.as('client1');
    expect(await roundTrip(fresh, 'client1.fresh')).toBe('ping client1.fresh');
    // AND the connection made under the old certificate stays up and works
    expect(client1.isClosed()).toBe(false);
    expect(await roundTrip(client1, 'client1.old')).toBe('ping client1.old');
  });
});

describe('a reload the server refuses', () => {
  let s: Awaited<ReturnType<typeof scene>>;
  beforeAll(async () => { s = await scene([CLIENT1]); });
  afterAll(async () => s?.tearDown());

  test('leaves it serving the previous certificate and configuration, clients connected', async () => {
    // GIVEN client1 connected
    const client1 = await s.as('client1');
    const original = fingerprintOf(s.pki.serverCert);
    // WHEN the server key file no longer matches the certificate (a half-written Secret) and the server is signalled
    writeFileSync(s.pki.paths.serverKey, readFileSync(s.pki.paths.identityKey('client1')));
    // THEN the server refuses the reload and says why
    await expect(s.server.reload()).rejects.toThrow(/Failed to reload server configuration: .*private key does not match public key/);
    // AND it keeps running as before: the old certificate for new clients, the old connection untouched
    expect(await servedCertificate(s.server, s.pki, 'client1')).toBe(original);
    expect(await roundTrip(client1, 'client1.after')).toBe('ping client1.after');
  });
});

describe('a fleet of 1,000 users: adding one and revoking one, each by a reload', () => {
  const LAPTOP = { name: 'laptop', email: 'laptop@example.com', authorized: true };
  /** 998 devices with rules of their own beside the identities whose certificates the scene issued. */
  const fleet = (...identities: object[]): Config => withIdentities([...fleetIdentities(998), ...identities]);
  let s: Awaited<ReturnType<typeof scene>>;
  beforeAll(async () => {
    s = await scene([CLIENT1, SENSOR, LAPTOP]);
    await s.server.reload(fleet(CLIENT1, SENSOR));
  });
  afterAll(async () => s?.tearDown());

  test('the new identity connects after the reload, the revoked one is closed and refused, the others stay', async () => {
    // GIVEN the fleet's server with client1 and the sensor connected, and the laptop not yet a user
    expect(natsUsers(fleet(CLIENT1, SENSOR).pki.identities)).toHaveLength(1000);
    const client1 = await s.as('client1');
    const sensor = await s.as('sensor');
    expect(await refusal(s.as('laptop'))).toBeInstanceOf(errors.AuthorizationError);

    // WHEN the laptop is added (1,001 users) THEN it connects after the reload, and nobody was disconnected
    await s.server.reload(fleet(CLIENT1, SENSOR, LAPTOP));
    const laptop = await s.as('laptop');
    expect(await roundTrip(laptop, 'laptop.hello')).toBe('ping laptop.hello');
    expect([client1.isClosed(), sensor.isClosed()]).toEqual([false, false]);

    // WHEN the sensor is revoked THEN the server closes its connection and refuses the next one; the rest keep working
    await s.server.reload(fleet(CLIENT1, { ...SENSOR, authorized: false }, LAPTOP));
    expect(await closedWithin(sensor)).toBeUndefined();
    expect(await refusal(s.as('sensor'))).toBeInstanceOf(errors.AuthorizationError);
    expect(await roundTrip(client1, 'client1.still')).toBe('ping client1.still');
    expect(await roundTrip(laptop, 'laptop.still')).toBe('ping laptop.still');
  });
});
