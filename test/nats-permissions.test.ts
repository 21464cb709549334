import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect, NatsConnection } from '@nats-io/transport-node';
import { parseConfig, type Identity } from '../lib/config/config';
import { probePublish, probeSubscribe } from '../lib/nats/permissions';
import { concreteSubject, expectedAccess, permissionCases, subjectMatches, subjectProblem } from '../lib/nats/subjects';
import { ensurePki, PkiResult } from '../lib/pki/pki';
import { RunningNatsServer, startNatsServer } from './support/nats-server';
import { natsServerConfig, shippedNatsValues } from './support/nats-server-config';

/**
 * The sensor's rules as nats.conf gets them: a deny keeps the map, an allow list alone is written as
 * its one subject (nats-server's "old style"), which keeps a fleet's ConfigMap within the API server's limits.
 */
const SENSOR_CONF = { publish: { allow: ['sensors.>'], deny: ['sensors.admin.>'] }, subscribe: '_INBOX.>' };

const SENSOR = {
  name: 'sensor', email: 'sensor@example.com', authorized: true,
  permissions: { publish: { allow: ['sensors.>'], deny: ['sensors.admin.>'] }, subscribe: { allow: ['_INBOX.>'] } },
};

/** Rules for subscribing alone: in NATS's terms its publishing is then unrestricted (an absent `publish` allows everything). */
const READER: Identity = {
  name: 'reader', email: 'reader@example.com', authorized: true, permissions: { subscribe: { allow: ['telemetry.>', 'alerts.*'] } },
};

describe('subjects', () => {
  test.each([
    ['a', undefined], ['sensors.>', undefined], ['*.temp', undefined], ['_INBOX.>', undefined], ['a.*.c', undefined],
    ['', 'is empty'], ['a b', 'contains white space'], ['a..b', "has an empty token (a leading, trailing or doubled '.')"],
    ['.a', "has an empty token (a leading, trailing or doubled '.')"], ['a.>.b', "uses '>' before the last token"],
    ['a*', "uses a wildcard inside the token 'a*'"], ['a.b>', "uses a wildcard inside the token 'b>'"],
  ])('%j: %s', (subject, problem) => {
    if (problem === undefined) expect(subjectProblem(subject)).toBeUndefined();
    else expect(subjectProblem(subject)).toContain(problem);
  });

  test('match as nats-server does: * one token, > one or more', () => {
    expect(subjectMatches('sensors.>', 'sensors.temp.kitchen')).toBe(true);
    expect(subjectMatches('sensors.>', 'sensors')).toBe(false);
    expect(subjectMatches('*.temp', 'a.temp')).toBe(true);
    expect(subjectMatches('*.temp', 'a.b.temp')).toBe(false);
    expect(subjectMatches('a.b', 'a.b')).toBe(true);
    expect(subjectMatches('a.b', 'a.b.c')).toBe(false);
    expect(concreteSubject('sensors.*.>')).toBe('sensors.verify.verify');
  });

  test('a bad subject in the configuration names the identity and the subject', () => {
    const bad = { ...SENSOR, permissions: { publish: { allow: ['sensors.> x'] } } };
    expect(() => parseConfig({ pki: { identities: [bad] } })).toThrow(
      'pki.identities[\'sensor\'].permissions.publish.allow[0]: subject "sensors.> x" contains white space',
    );
  });

  test('an identity that is not authorized keeps its permissions in the configuration, and they reach no NATS user', () => {
    const config = parseConfig({ pki: { identities: [SENSOR, { ...SENSOR, name: 'x', email: 'x@example.com', authorized: false }] } });
    expect(config.pki.identities[1].permissions).toEqual(SENSOR.permissions);
    expect(natsServerConfig(shippedNatsValues(config), { host: 'h', port: -1, caFile: 'a', certFile: 'b', keyFile: 'c' }).authorization.users)
      .toEqual([{ user: 'sensor@example.com', permissions: SENSOR_CONF }]);
  });
});

describe('permission cases: one per rule, the expectation weighing every rule', () => {
  test('the sensor: deny wins over allow, and an allow list refuses what it does not name', () => {
    expect(permissionCases(SENSOR.permissions)).toEqual([
      { operation: 'publish', kind: 'allow', rule: 'publish allow sensors.>', subject: 'sensors.verify', expected: 'allowed' },
      { operation: 'publish', kind: 'deny', rule: 'publish deny sensors.admin.>', subject: 'sensors.admin.verify', expected: 'denied' },
      { operation: 'subscribe', kind: 'allow', rule: 'subscribe allow _INBOX.>', subject: '_INBOX.verify', expected: 'allowed' },
    ]);
    expect(expectedAccess(SENSOR.permissions.subscribe, 'sensors.temp')).toBe('denied');
    expect(expectedAccess(undefined, 'anything')).toBe('allowed');
    // an allow whose concrete subject a deny covers is expected to be refused
    expect(permissionCases({ publish: { allow: ['a.>'], deny: ['a.*'] } })[0]).toMatchObject({ subject: 'a.verify', expected: 'denied' });
  });
});

/** The Helm values' users and permissions on a real nats-server: what the server does, not what we think. */
describe('permissions on a real nats-server', () => {
  const config = parseConfig({ pki: { identities: [SENSOR, { name: 'client1', email: 'client1@example.com', authorized: true }, READER] } });
  const work = mkdtempSync(join(tmpdir(), 'nats-permissions-'));
  let pki: PkiResult;
  let server: RunningNatsServer;
  let sensor: NatsConnection;
  let client1: NatsConnection;
  let reader: NatsConnection;

  const as = (name: string) => connect({
    servers: server.url, reconnect: false, timeout: 10_000,
    tls: { caFile: pki.paths.caCert, certFile: pki.paths.identityCert(name), keyFile: pki.paths.identityKey(name) },
  });

  beforeAll(async () => {
    pki = await ensurePki(config, { baseDir: work });
    server = await startNatsServer({ config, caFile: pki.paths.caCert, certFile: pki.paths.serverCert, keyFile: pki.paths.serverKey });
    [sensor, client1, reader] = await Promise.all([as('sensor'), as('client1'), as('reader')]);
  });

  afterAll(async () => {
    await Promise.all([sensor?.close(), client1?.close(), reader?.close()]);
    await server?.stop();
    rmSync(work, { recursive: true, force: true });
  });

  test('the server runs the values\' permissions for the sensor user', () => {
    const users = natsServerConfig(shippedNatsValues(config), { host: 'h', port: -1, caFile: 'a', certFile: 'b', keyFile: 'c' }).authorization.users;
    expect(users).toEqual([
      { user: 'sensor@example.com', permissions: SENSOR_CONF }, { user: 'client1@example.com' },
      { user: 'reader@example.com', permissions: { subscribe: ['telemetry.>', 'alerts.*'] } },
    ]);
  });

  test('rules for subscribing alone reach the server: the reader subscribes only to telemetry.> and alerts.*, and publishes as NATS allows', async () => {
    // GIVEN the reader, whose permissions name subscribe rules (a list, written as the list alone) and no publish rules
    // THEN the server keeps its subscriptions to what the rules allow, and refuses the rest with Permissions Violation
    expect(await probeSubscribe(reader, 'telemetry.kitchen')).toBe('allowed');
    expect(await probeSubscribe(reader, 'alerts.fire')).toBe('allowed');
    expect(await probeSubscribe(reader, 'alerts.fire.now')).toBe('denied');
    expect(await probeSubscribe(reader, 'orders.new')).toBe('denied');
    expect(await probeSubscribe(reader, '>')).toBe('denied');
    // AND publishing, which the rules leave out, is unrestricted as nats-server reads an absent publish block (what expectedAccess says too)
    expect(await probePublish(reader, 'orders.new')).toBe('allowed');
    expect(expectedAccess(READER.permissions?.publish, 'orders.new')).toBe('allowed');
    expect(reader.isClosed()).toBe(false);
  });

  test('an allowed publish is delivered', async () => {
    // GIVEN client1 (no permissions: everything) listens on sensors.temp
    const inbox = client1.subscribe('sensors.temp', { max: 1 });
    await client1.flush();
    // WHEN the sensor publishes there
    expect(await probePublish(sensor, 'sensors.temp')).toBe('allowed');
    // THEN client1 receives it
    for await (const message of inbox) expect(message.string()).toBe('verify');
  });

  test('a denied publish gets the server\'s Permissions Violation, and the connection stays open', async () => {
    const mark = server.logs().length;
    expect(await probePublish(sensor, 'sensors.admin.reset')).toBe('denied');
    await server.waitForLog(/Publish Violation.*sensors\.admin\.reset|Permissions Violation for Publish to "sensors\.admin\.reset"/, mark);
    expect(sensor.isClosed()).toBe(false);
    expect(await probePublish(sensor, 'elsewhere')).toBe('denied');
    expect(await probePublish(sensor, 'sensors.ok')).toBe('allowed');
  });

  test('a denied subscription gets the server\'s Permissions Violation; an allowed one is kept', async () => {
    expect(await probeSubscribe(sensor, 'sensors.temp')).toBe('denied');
    expect(await probeSubscribe(sensor, '_INBOX.abc')).toBe('allowed');
    expect(sensor.isClosed()).toBe(false);
  });

  test('every permission case of the configuration comes out on the server as expected', async () => {
    for (const { operation, subject, expected } of permissionCases(SENSOR.permissions)) {
      const got = operation === 'publish' ? await probePublish(sensor, subject) : await probeSubscribe(sensor, subject);
      expect([operation, subject, got]).toEqual([operation, subject, expected]);
    }
  });
});
