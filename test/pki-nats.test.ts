import { X509Certificate } from 'node:crypto';
import { cpSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { connect as tcpConnect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { checkServerIdentity, connect as tlsConnect } from 'node:tls';
import { connect, errors, NatsConnection, NodeConnectionOptions } from '@nats-io/transport-node';
import { natsServiceHostnames, parseConfig } from '../lib/config/config';
import type { PkiPaths } from '../lib/pki/paths';
import { ensurePki } from '../lib/pki/pki';
import { RunningNatsServer, startNatsServer } from './support/nats-server';
import { natsServerConfig, shippedNatsValues } from './support/nats-server-config';

/** The PKI against a real nats-server configured like the deployed one (TLS + verify_and_map + users). */
describe.each(['rsa', 'ecdsa'] as const)('dev PKI (pki.keyType %s) against nats-server', (keyType) => {
  // The recipe's identities plus client3, whose certificate carries an email but who is not authorized:
  // only the `authorized` flag stands between it and a NATS user.
  const config = parseConfig({
    pki: {
      keyType,
      identities: [
        { name: 'client1', email: 'client1@example.com', authorized: true },
        { name: 'client2' },
        { name: 'client3', email: 'client3@example.com', authorized: false },
      ],
    },
  });
  const work = mkdtempSync(join(tmpdir(), 'pki-nats-'));
  let paths: PkiPaths;
  let server: RunningNatsServer;

  beforeAll(async () => {
    // GIVEN our PKI, and a second CA that also issues "client1" (with client1's email)
    const [ours] = await Promise.all([
      ensurePki(config, { baseDir: join(work, 'ours') }),
      ensurePki(config, { baseDir: join(work, 'foreign') }),
    ]);
    paths = ours.paths;
    // AND a client1 certificate from *our* CA that has expired: issued from a copy, backdated
    const expiredDir = join(work, 'expired-ours');
    cpSync(paths.dir, join(expiredDir, config.pki.dir), { recursive: true });
    rmSync(join(expiredDir, config.pki.dir, 'client1.crt'));
    rmSync(join(expiredDir, config.pki.dir, 'client1.key'));
    await ensurePki(config, { baseDir: expiredDir, now: new Date(Date.now() - (config.pki.validityDays + 10) * 86400000) });

    server = await startNatsServer({ config, caFile: paths.caCert, certFile: paths.serverCert, keyFile: paths.serverKey });
  });

  afterAll(async () => {
    await server?.stop();
    rmSync(work, { recursive: true, force: true });
  });

  const tls = (dir: string, name: string | undefined, caFile = join(work, 'ours', config.pki.dir, 'ca.crt')): NodeConnectionOptions['tls'] => ({
    caFile,
    ...(name ? { certFile: join(work, dir, config.pki.dir, `${name}.crt`), keyFile: join(work, dir, config.pki.dir, `${name}.key`) } : {}),
  });

  const attempt = (options: NodeConnectionOptions['tls'], url = server.url) =>
    connect({ servers: url, tls: options, reconnect: false, timeout: 5000 });

  /** The error a connection attempt fails with; undefined (the connection closed again) when the server admits the client. */
  const refusal = (options: NodeConnectionOptions['tls']) =>
    attempt(options).then(async (nc) => {
      await nc.close();
      return undefined;
    }, (error: unknown) => error);

  /** Subscribes, publishes one message and returns what the server delivered back. */
  async function roundTrip(nc: NatsConnection, subject: string, payload: string): Promise<string[]> {
    const sub = nc.subscribe(subject, { max: 1 });
    nc.publish(subject, payload);
    const received: string[] = [];
    for await (const message of sub) received.push(message.string());
    return received;
  }

  test('the server runs the Helm values\' TLS mapping and users, not a copy', () => {
    const values = shippedNatsValues(config);
    const serverConfig = natsServerConfig(values, { host: '127.0.0.1', port: -1, caFile: 'ca', certFile: 'crt', keyFile: 'key' });
    expect(serverConfig.authorization).toEqual(values.config.merge.authorization);
    expect(serverConfig.authorization.users).toEqual([{ user: 'client1@example.com' }]);
    expect(serverConfig.tls).toEqual({ ca_file: 'ca', cert_file: 'crt', key_file: 'key', ...values.config.nats.tls.merge });
    expect(serverConfig.tls.verify_and_map).toBe(true);
  });

  test('client1 connects and a published message comes back', async () => {
    // WHEN client1 subscribes and publishes over mTLS
    const nc = await attempt(tls('ours', 'client1'));
    try {
      // THEN the server delivers it back
      expect(await roundTrip(nc, 'say', 'hi')).toEqual(['hi']);
    } finally {
      await nc.close();
    }
  });

  test('client2 (no email, not a user) gets Authorization Violation', async () => {
    // WHEN client2 presents its valid certificate THEN verify_and_map finds no user
    const mark = server.logs().length;
    const failure = await refusal(tls('ours', 'client2'));
    expect(failure).toBeInstanceOf(errors.AuthorizationError);
    expect((failure as Error).message).toMatch(/Authorization Violation/);
    await server.waitForLog(/authentication error/, mark);
  });

  test('client3 (an email, but not authorized) gets Authorization Violation; authorized, the same certificate gets in', async () => {
    // GIVEN client3's valid certificate really carries its email, the name verify_and_map looks up
    expect(new X509Certificate(readFileSync(paths.identityCert('client3'))).subjectAltName).toBe('email:client3@example.com');
    // WHEN client3 connects to the server THEN it is refused as no user
    const mark = server.logs().length;
    const failure = await refusal(tls('ours', 'client3'));
    expect(failure).toBeInstanceOf(errors.AuthorizationError);
    expect((failure as Error).message).toMatch(/Authorization Violation/);
    await server.waitForLog(/authentication error/, mark);

    // WHEN the same certificate meets a server whose configuration differs only in client3 being authorized
    const authorized = parseConfig({ pki: { keyType, identities: config.pki.identities.map((identity) => ({ ...identity, authorized: identity.authorized || identity.name === 'client3' })) } });
    const second = await startNatsServer({ config: authorized, caFile: paths.caCert, certFile: paths.serverCert, keyFile: paths.serverKey });
    try {
      const nc = await attempt(tls('ours', 'client3'), second.url);
      try {
        // THEN client3 publishes and receives: the refusal above was the flag, not the certificate
        expect(await roundTrip(nc, 'client3.say', 'hi')).toEqual(['hi']);
      } finally {
        await nc.close();
      }
    } finally {
      await second.stop();
    }
  });

  test('a connection without a client certificate is refused', async () => {
    // WHEN a client trusts the CA but presents no certificate THEN the TLS handshake fails
    const mark = server.logs().length;
    await expect(attempt(tls('ours', undefined))).rejects.toThrow();
    await server.waitForLog(/TLS handshake error: tls: client didn't provide a certificate/, mark);
  });

  test('a certificate with client1\'s email from another CA is refused', async () => {
    // GIVEN the foreign certificate really carries client1's email
    const foreign = new X509Certificate(readFileSync(join(work, 'foreign', config.pki.dir, 'client1.crt')));
    expect(foreign.subjectAltName).toBe('email:client1@example.com');
    // WHEN it is presented THEN the server rejects the chain
    const mark = server.logs().length;
    await expect(attempt(tls('foreign', 'client1'))).rejects.toThrow();
    await server.waitForLog(/TLS handshake error: tls: failed to verify certificate: x509: certificate signed by unknown authority/, mark);
  });

  test('an expired client1 certificate from our CA is refused', async () => {
    const expired = new X509Certificate(readFileSync(join(work, 'expired-ours', config.pki.dir, 'client1.crt')));
    expect(new Date(expired.validTo).getTime()).toBeLessThan(Date.now());
    expect(expired.checkIssued(new X509Certificate(readFileSync(paths.caCert)))).toBe(true);
    // WHEN it is presented THEN the server rejects it as expired
    const mark = server.logs().length;
    await expect(attempt(tls('expired-ours', 'client1'))).rejects.toThrow();
    await server.waitForLog(/TLS handshake error: tls: failed to verify certificate: x509: certificate has expired/, mark);
  });

  test('the server certificate is valid for localhost, 127.0.0.1 and every in-cluster name', () => {
    const cert = new X509Certificate(readFileSync(paths.serverCert));
    const peer = { subject: { CN: '' }, subjectaltname: cert.subjectAltName } as Parameters<typeof checkServerIdentity>[1];
    for (const host of ['localhost', ...natsServiceHostnames(config.nats)]) {
      expect(checkServerIdentity(host, peer)).toBeUndefined();
      expect(cert.checkHost(host)).toBe(host);
    }
    expect(cert.checkIP('127.0.0.1')).toBe('127.0.0.1');
    // and not for a name it does not hold
    expect(checkServerIdentity('nats.other.svc', peer)).toMatchObject({ code: 'ERR_TLS_CERT_ALTNAME_INVALID' });
  });

  test('a client that dials an in-cluster name verifies the server certificate (SNI + hostname check)', async () => {
    for (const servername of ['localhost', ...natsServiceHostnames(config.nats)]) {
      // WHEN a client reaches the server (through 127.0.0.1) under that name THEN the handshake verifies
      await expect(upgradeToTls(servername)).resolves.toBe(true);
    }
    // and a name the certificate does not hold fails verification
    await expect(upgradeToTls('nats.other.svc')).rejects.toThrow(/Hostname\/IP does not match/);
  });

  /** NATS protocol: the server sends INFO in plain text, then the client upgrades the socket to TLS. */
  function upgradeToTls(servername: string): Promise<boolean> {
    return new Promise((resolve, reject) => {
      const tcp = tcpConnect({ host: server.host, port: server.port });
      tcp.once('error', reject);
      tcp.once('data', (info) => {
        if (!info.toString().startsWith('INFO ')) return reject(new Error(`expected INFO, got ${info.toString()}`));
        const socket = tlsConnect({
          socket: tcp, servername,
          ca: readFileSync(paths.caCert), cert: readFileSync(paths.identityCert('client1')), key: readFileSync(paths.identityKey('client1')),
        });
        socket.once('secureConnect', () => {
          resolve(socket.authorized);
          socket.destroy();
        });
        socket.once('error', (error: Error) => {
          socket.destroy();
          reject(error);
        });
      });
    });
  }
});
