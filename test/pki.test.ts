import { execFileSync, spawnSync } from 'node:child_process';
import { createPrivateKey, createPublicKey, X509Certificate } from 'node:crypto';
import { chmodSync, cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer, get, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TLSSocket } from 'node:tls';
import { Config, parseConfig } from '../lib/config/config';
import { CONFIG_FILE } from '../lib/config/layout';
import { issueCertificates } from '../lib/pki/issue';
import { CHECK_RECORD, pkiPaths } from '../lib/pki/paths';
import { ensurePki, PkiResult } from '../lib/pki/pki';
import { pruneStrayPkiFiles, removePki } from '../lib/pki/removal';
import { checkServerTls } from '../lib/pki/x509-checks';
import { PkiError } from '../lib/util/errors';
import { copyProject } from './support/project-copy';

const DAY_MS = 86400000;
const work = mkdtempSync(join(tmpdir(), 'pki-test-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

const config = parseConfig({});
const openssl = (...args: string[]) => execFileSync('openssl', args, { encoding: 'utf8' });
const text = (file: string) => openssl('x509', '-in', file, '-noout', '-text');
const cert = (file: string) => new X509Certificate(readFileSync(file));
const mode = (file: string) => statSync(file).mode & 0o777;
const sansOf = (file: string) => (cert(file).subjectAltName ?? '').split(', ').filter(Boolean);
const modulusBits = (keyFile: string) => createPrivateKey(readFileSync(keyFile)).asymmetricKeyDetails?.modulusLength;
const escape = (literal: string) => literal.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/**
 * Every file of a PKI folder with its bytes, to prove what changed and what did not; not the check
 * record, which changes whenever a pair does (its own tests are in "the check record").
 */
const snapshot = (dir: string) => Object.fromEntries(readdirSync(dir).filter((name) => name !== CHECK_RECORD).sort()
  .map((name) => [name, readFileSync(join(dir, name), 'base64')]));

let fresh: PkiResult;
let baseDir: string;
let counter = 0;

/** A copy of the fresh PKI to change without regenerating keys. */
function copyOfFresh(): string {
  const dir = join(work, `copy-${++counter}`);
  cpSync(baseDir, dir, { recursive: true });
  return dir;
}

const KEY_TYPES = ['rsa', 'ecdsa'] as const;
type KeyType = typeof KEY_TYPES[number];
/** A fresh PKI of each key type: RSA (the default, `fresh`) and ECDSA. */
const fresher: Partial<Record<KeyType, PkiResult>> = {};
/** What openssl prints for each key type's keys and signatures, and the signature AlgorithmIdentifier's DER. */
const EXPECTED: Record<KeyType, { signature: string; publicKey: RegExp; keyUsage: string; algorithmDer: string }> = {
  // sha256WithRSAEncryption with NULL parameters (RFC 4055).
  rsa: { signature: 'sha256WithRSAEncryption', publicKey: /Public-Key: \(2048 bit\)/, keyUsage: 'Digital Signature, Key Encipherment', algorithmDer: '300d06092a864886f70d01010b0500' },
  // ecdsa-with-SHA256 with the parameters absent (RFC 5758 3.2).
  ecdsa: { signature: 'ecdsa-with-SHA256', publicKey: /Public-Key: \(256 bit\)[\s\S]*NIST CURVE: P-256/, keyUsage: 'Digital Signature', algorithmDer: '300a06082a8648ce3d040302' },
};

beforeAll(async () => {
  // GIVEN an empty project folder WHEN the PKI is ensured
  baseDir = join(work, 'fresh');
  fresh = await ensurePki(config, { baseDir });
  fresher.rsa = fresh;
  fresher.ecdsa = await ensurePki(parseConfig({ pki: { keyType: 'ecdsa' } }), { baseDir: join(work, 'fresh-ecdsa') });
});

describe.each(KEY_TYPES)('a fresh PKI (pki.keyType %s)', (keyType) => {
  const pki = () => fresher[keyType]!;

  test('writes the recipe\'s files into pki.dir, keys 0600 as PKCS#8, folder 0700', () => {
    const { paths } = pki();
    expect(readdirSync(paths.dir).sort()).toEqual([
      '.checked-pairs', '.gitignore', 'ca.crt', 'ca.key', 'client1.crt', 'client1.key', 'client2.crt', 'client2.key', 'echo.crt', 'echo.key', 'server.crt', 'server.key',
    ]);
    expect(mode(paths.dir)).toBe(0o700);
    // AND the folder ignores everything in it, itself included, wherever pki.dir points
    expect(readFileSync(join(paths.dir, '.gitignore'), 'utf8')).toMatch(/^\*$/m);
    for (const name of readdirSync(paths.dir)) expect([name, mode(join(paths.dir, name))]).toEqual([name, name.endsWith('.key') || name === CHECK_RECORD ? 0o600 : 0o644]);
    for (const name of readdirSync(paths.dir).filter((file) => file.endsWith('.key'))) {
      expect(readFileSync(join(paths.dir, name), 'utf8')).toMatch(/^-----BEGIN PRIVATE[ ]KEY-----\n[\s\S]+\n-----END PRIVATE[ ]KEY-----\n$/);
    }
    expect(pki().issued).toHaveLength(10);
    expect(pki().reused).toEqual([]);
    expect(pki().caCert).toBe(readFileSync(paths.caCert, 'utf8'));
    expect(pki().serverCert).toBe(readFileSync(paths.serverCert, 'utf8'));
    expect(pki().serverKey).toBe(readFileSync(paths.serverKey, 'utf8'));
  });

  test('openssl verifies every chain for its purpose, strictly (-x509_strict)', () => {
    const { paths } = pki();
    const verify = (purpose: string, file: string) => openssl('verify', '-x509_strict', '-CAfile', paths.caCert, '-purpose', purpose, file).trim();
    expect(verify('sslserver', paths.serverCert)).toBe(`${paths.serverCert}: OK`);
    expect(verify('sslserver', paths.echoCert)).toBe(`${paths.echoCert}: OK`);
    for (const name of ['client1', 'client2']) expect(verify('sslclient', paths.identityCert(name))).toBe(`${paths.identityCert(name)}: OK`);
    // and a client certificate is no server certificate
    const wrongPurpose = spawnSync('openssl', ['verify', '-x509_strict', '-CAfile', paths.caCert, '-purpose', 'sslserver', paths.identityCert('client1')]);
    expect(wrongPurpose.status).not.toBe(0);
  });

  test('the CA is CA:TRUE (critical), signs certificates and CRLs, and has a key identifier', () => {
    const ca = text(pki().paths.caCert);
    expect(ca).toMatch(/X509v3 Basic Constraints: critical\s+CA:TRUE/);
    expect(ca).toMatch(/X509v3 Key Usage: critical\s+Certificate Sign, CRL Sign\n/);
    expect(ca).toMatch(/X509v3 Subject Key Identifier:\s+[0-9A-F:]{59}/);
  });

  test('the server certificate is for serverAuth with localhost, 127.0.0.1 and every in-cluster name', () => {
    const server = text(pki().paths.serverCert);
    expect(server).toMatch(/X509v3 Extended Key Usage:\s*\n\s+TLS Web Server Authentication\n/);
    expect(server).toMatch(/X509v3 Basic Constraints: critical\s+CA:FALSE/);
    expect(server).toMatch(new RegExp(`X509v3 Key Usage: critical\\s+${EXPECTED[keyType].keyUsage}\\n`));
    expect(cert(pki().paths.serverCert).subjectAltName).toBe(
      'DNS:localhost, DNS:nats, DNS:nats.nats, DNS:nats.nats.svc, DNS:nats.nats.svc.cluster.local, IP Address:127.0.0.1',
    );
  });

  test('client certificates: clientAuth, CN = identity, email only as a SAN', () => {
    const { paths } = pki();
    const client1 = text(paths.identityCert('client1'));
    expect(client1).toMatch(/X509v3 Extended Key Usage:\s*\n\s+TLS Web Client Authentication\n/);
    expect(client1).toMatch(/Subject: CN = client1\n/);
    expect(client1).not.toMatch(/emailAddress/);
    expect(cert(paths.identityCert('client1')).subjectAltName).toBe('email:client1@example.com');
    const client2 = cert(paths.identityCert('client2'));
    expect(client2.subject).toBe('CN=client2');
    expect(client2.subjectAltName).toBeUndefined();
  });

  test(`all: SHA-256 with the ${keyType} key type, positive distinct serials, validityDays, AKI = the CA's key id`, () => {
    const { paths } = pki();
    const caKeyId = /Subject Key Identifier:\s+([0-9A-F:]+)/.exec(text(paths.caCert))![1];
    const files = [paths.caCert, paths.serverCert, paths.echoCert, paths.identityCert('client1'), paths.identityCert('client2')];
    const serials = new Set<string>();
    for (const file of files) {
      const dump = text(file);
      expect(dump).toMatch(new RegExp(`Signature Algorithm: ${EXPECTED[keyType].signature}\n[\\s\\S]*Signature Algorithm: ${EXPECTED[keyType].signature}\n`));
      // The signature AlgorithmIdentifier, in the certificate and in its TBSCertificate, exactly as its RFC encodes it
      const der = cert(file).raw.toString('hex');
      expect(der.split(EXPECTED[keyType].algorithmDer)).toHaveLength(3);
      expect(dump).toMatch(EXPECTED[keyType].publicKey);
      expect(dump).not.toMatch(/Negative/);
      const x509 = cert(file);
      expect(parseInt(x509.serialNumber.slice(0, 2), 16)).toBeLessThan(0x80);
      expect(x509.serialNumber.length).toBeGreaterThanOrEqual(30);
      serials.add(x509.serialNumber);
      expect(new Date(x509.validTo).getTime() - new Date(x509.validFrom).getTime()).toBe(config.pki.validityDays * DAY_MS);
      if (file !== paths.caCert) expect(dump).toMatch(new RegExp(`Authority Key Identifier:\\s+(keyid:)?${caKeyId}\\n`));
    }
    expect(serials.size).toBe(files.length);
  });

  test("Node's TLS accepts the client certificate our CA signed, and refuses a connection without one", async () => {
    const { paths } = pki();
    const server = createServer({
      cert: readFileSync(paths.serverCert), key: readFileSync(paths.serverKey), ca: readFileSync(paths.caCert),
      requestCert: true, rejectUnauthorized: true,
    }, (request, response) => response.end(`hello ${String((request.socket as TLSSocket).getPeerCertificate().subject.CN)}`));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const port = (server.address() as AddressInfo).port;
      const ask = (options: object) => new Promise<string>((resolve, reject) => {
        get({ host: '127.0.0.1', servername: 'localhost', port, ca: readFileSync(paths.caCert), timeout: 10_000, ...options }, (response) => {
          let body = '';
          response.on('data', (chunk: Buffer) => { body += chunk.toString(); });
          response.on('end', () => resolve(body));
        }).on('error', reject);
      });
      expect(await ask({ cert: readFileSync(paths.identityCert('client1')), key: readFileSync(paths.identityKey('client1')) })).toBe('hello client1');
      await expect(ask({})).rejects.toThrow();
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
  });
});

describe('the http-echo HTTPS certificate', () => {
  test('is for serverAuth, CN k3s-nats-tls echo, with exactly echo.tls.hosts (default localhost and 127.0.0.1) as names', () => {
    const echo = text(fresh.paths.echoCert);
    expect(echo).toMatch(/X509v3 Extended Key Usage:\s*\n\s+TLS Web Server Authentication\n/);
    expect(echo).toMatch(/X509v3 Basic Constraints: critical\s+CA:FALSE/);
    expect(echo).toMatch(/Subject: CN = k3s-nats-tls echo\n/);
    expect(cert(fresh.paths.echoCert).subjectAltName).toBe('DNS:localhost, IP Address:127.0.0.1');
    const { caCert, echoCert } = fresh.paths;
    expect(openssl('verify', '-CAfile', caCert, '-purpose', 'sslserver', echoCert).trim()).toBe(`${echoCert}: OK`);
    // AND the result carries the very pair on disk, for the Secret
    expect(fresh.echo).toEqual({ cert: readFileSync(fresh.paths.echoCert, 'utf8'), key: readFileSync(fresh.paths.echoKey, 'utf8') });
  });

  describe('serves HTTPS that a client trusting only our CA accepts, by name and by address', () => {
    // GIVEN a real HTTPS server on loopback with the echo certificate, as Traefik serves it
    let server: Server;
    let port: number;
    beforeAll(async () => {
      server = createServer({ cert: fresh.echo.cert, key: fresh.echo.key }, (_request, response) => response.end('Hello from echo'));
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      port = (server.address() as AddressInfo).port;
    });
    afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

    /** GET / over TLS with our CA only; `servername` is what the client checks the certificate against. */
    const fetchWith = (servername: string) => new Promise<string>((resolve, reject) => {
      const request = get({ host: '127.0.0.1', port, path: '/', ca: fresh.caCert, servername, timeout: 10_000 }, (response) => {
        let body = '';
        response.on('data', (chunk) => { body += chunk; });
        response.on('end', () => resolve(body));
      });
      request.on('timeout', () => request.destroy(new Error('timed out')));
      request.on('error', reject);
    });

    test.each(['localhost', '127.0.0.1'])('as %s', async (name) => {
      await expect(fetchWith(name)).resolves.toBe('Hello from echo');
    });

    test('but not under a name it was not issued for', async () => {
      await expect(fetchWith('nats.nats.svc')).rejects.toThrow(/Hostname\/IP does not match certificate's altnames/);
    });
  });

  test('a change of echo.tls.hosts re-issues the echo certificate alone, with exactly the new names', async () => {
    const dir = copyOfFresh();
    const before = snapshot(join(dir, 'keys'));
    // WHEN the hosts change to a LAN name and address
    const result = await ensurePki(parseConfig({ echo: { tls: { hosts: ['echo.lan.test', '192.168.1.20'] } } }), { baseDir: dir });
    // THEN only echo.crt/.key are new, from the same CA
    expect(result.issued.map((file) => file.split('/').pop()).sort()).toEqual(['echo.crt', 'echo.key']);
    const after = snapshot(join(dir, 'keys'));
    for (const name of Object.keys(before).filter((file) => !file.startsWith('echo.'))) expect([name, after[name]]).toEqual([name, before[name]]);
    expect(cert(result.paths.echoCert).subjectAltName).toBe('DNS:echo.lan.test, IP Address:192.168.1.20');
    expect(cert(result.paths.echoCert).verify(cert(result.paths.caCert).publicKey)).toBe(true);
  });

  test('--renew echo re-issues just that certificate', async () => {
    const dir = copyOfFresh();
    const before = snapshot(join(dir, 'keys'));
    await ensurePki(config, { baseDir: dir, renew: ['echo'] });
    const after = snapshot(join(dir, 'keys'));
    expect(Object.keys(before).filter((name) => before[name] !== after[name]).sort()).toEqual(['echo.crt', 'echo.key']);
  });

  test('down --purge (removePki) deletes the echo pair with the rest, leaving no folder behind', () => {
    const dir = copyOfFresh();
    const removed = removePki(config, dir);
    expect(removed.removed.map((file) => file.split('/').pop())).toEqual(expect.arrayContaining(['echo.crt', 'echo.key']));
    expect(removed).toMatchObject({ kept: [], folderRemoved: true });
    expect(existsSync(join(dir, 'keys'))).toBe(false);
  });

  test('checkServerTls refuses an echo pair whose key is not its certificate\'s, naming it', () => {
    expect(() => checkServerTls(fresh)).not.toThrow();
    expect(() => checkServerTls({ ...fresh, echo: { cert: fresh.echo.cert, key: fresh.serverKey } }))
      .toThrow('the echo key does not belong to the echo certificate: run `npm run certs`, then synth again');
  });
});

describe('idempotence and renewal', () => {
  test('a second run reuses every file byte for byte', async () => {
    const dir = copyOfFresh();
    const before = snapshot(join(dir, 'keys'));
    // WHEN ensured again THEN nothing is issued and nothing changes
    const again = await ensurePki(config, { baseDir: dir });
    expect(again.issued).toEqual([]);
    expect(again.reused).toHaveLength(10);
    expect(snapshot(join(dir, 'keys'))).toEqual(before);
    expect(again.caCert).toBe(fresh.caCert);
    expect(again.serverKey).toBe(fresh.serverKey);
  });

  test('leaves within renewWithinDays of expiry are re-issued from the same CA', async () => {
    const dir = copyOfFresh();
    const before = snapshot(join(dir, 'keys'));
    const lines: string[] = [];
    // WHEN it runs 980 days later (20 days before expiry, renewal window 30 days)
    const later = await ensurePki(config, { baseDir: dir, now: new Date(Date.now() + 980 * DAY_MS), log: (line) => lines.push(line) });
    // THEN the CA stays, every leaf is new and chains to it
    const after = snapshot(join(dir, 'keys'));
    expect(after['ca.crt']).toBe(before['ca.crt']);
    expect(after['ca.key']).toBe(before['ca.key']);
    for (const name of ['server', 'echo', 'client1', 'client2']) {
      expect(after[`${name}.crt`]).not.toBe(before[`${name}.crt`]);
      expect(after[`${name}.key`]).not.toBe(before[`${name}.key`]);
      expect(cert(later.paths.identityCert(name)).verify(cert(later.paths.caCert).publicKey)).toBe(true);
    }
    expect(lines.filter((line) => line.startsWith('↻')).join('\n')).toMatch(/client1\.crt.*: it expires on/);
    // and the CA's own approaching expiry is pointed out, not acted on
    expect(lines.join('\n')).toMatch(/ca\.crt expires on .*--force/);
  });

  test('a leaf that no longer matches the configuration is re-issued; the others are kept', async () => {
    const dir = copyOfFresh();
    const before = snapshot(join(dir, 'keys'));
    const changed: Config = parseConfig({
      pki: {
        server: { extraDnsNames: ['nats.example.test'], extraIps: ['::1'] },
        identities: [{ name: 'client1', email: 'ops@example.com', authorized: true }, { name: 'client2' }],
      },
    });
    const result = await ensurePki(changed, { baseDir: dir });
    const after = snapshot(join(dir, 'keys'));
    expect(result.issued.map((file) => file.slice(result.paths.dir.length + 1)).sort()).toEqual(['client1.crt', 'client1.key', 'server.crt', 'server.key']);
    expect(after['client2.crt']).toBe(before['client2.crt']);
    expect(after['ca.crt']).toBe(before['ca.crt']);
    expect(cert(result.paths.serverCert).subjectAltName).toMatch(/DNS:nats\.example\.test, IP Address:127\.0\.0\.1, IP Address:0:0:0:0:0:0:0:1$/);
    expect(cert(result.paths.identityCert('client1')).subjectAltName).toBe('email:ops@example.com');
    // WHEN run again with the same configuration (IPv6 written differently by Node) THEN nothing changes
    expect((await ensurePki(changed, { baseDir: dir })).issued).toEqual([]);
  });

  test('--force replaces everything, the CA included', async () => {
    const dir = copyOfFresh();
    const before = snapshot(join(dir, 'keys'));
    const forced = await ensurePki(config, { baseDir: dir, force: true });
    const after = snapshot(join(dir, 'keys'));
    expect(forced.issued).toHaveLength(10);
    for (const name of Object.keys(before).filter((file) => file !== '.gitignore')) expect([name, after[name] === before[name]]).toEqual([name, false]);
  });

  test('leaves left without their CA (ca.* deleted) are issued anew with a new CA', async () => {
    const dir = copyOfFresh();
    const paths = pkiPaths(config, dir);
    rmSync(paths.caCert);
    rmSync(paths.caKey);
    const result = await ensurePki(config, { baseDir: dir });
    expect(result.issued).toHaveLength(10);
    expect(cert(paths.serverCert).verify(cert(paths.caCert).publicKey)).toBe(true);
  });

  test('a reused key readable by others is made private again; its bytes are kept', async () => {
    const dir = copyOfFresh();
    const paths = pkiPaths(config, dir);
    chmodSync(paths.identityKey('client1'), 0o644);
    chmodSync(paths.dir, 0o755);
    const before = readFileSync(paths.identityKey('client1'), 'utf8');
    await ensurePki(config, { baseDir: dir });
    expect(mode(paths.identityKey('client1'))).toBe(0o600);
    expect(mode(paths.dir)).toBe(0o700);
    expect(readFileSync(paths.identityKey('client1'), 'utf8')).toBe(before);
  });
});

describe('removing a configured name re-issues the leaf that held it', () => {
  // A check that only asks "are the configured names present?" would keep a certificate that still
  // vouches for a name the user took away; these cases pin "the names equal the configuration".
  const identities = (client2Email?: string) => [
    { name: 'client1', email: 'client1@example.com', authorized: true },
    { name: 'client2', ...(client2Email ? { email: client2Email } : {}) },
  ];
  const withExtras = (server: { extraDnsNames?: string[]; extraIps?: string[] }, client2Email?: string): Config =>
    parseConfig({ pki: { server, identities: identities(client2Email) } });
  const everyExtra = withExtras({ extraDnsNames: ['nats.lan.test'], extraIps: ['192.168.1.10'] }, 'client2@example.com');
  let extrasDir: string;

  beforeAll(async () => {
    // GIVEN a PKI issued with an extra DNS name and IP on the server and an email on client2
    extrasDir = copyOfFresh();
    await ensurePki(everyExtra, { baseDir: extrasDir });
  });

  test.each([
    { removed: 'DNS:nats.lan.test', leaf: 'server', config: () => withExtras({ extraIps: ['192.168.1.10'] }, 'client2@example.com') },
    { removed: 'IP Address:192.168.1.10', leaf: 'server', config: () => withExtras({ extraDnsNames: ['nats.lan.test'] }, 'client2@example.com') },
    { removed: 'email:client2@example.com', leaf: 'client2', config: () => withExtras({ extraDnsNames: ['nats.lan.test'], extraIps: ['192.168.1.10'] }) },
  ])('$removed taken out of the configuration', async ({ removed, leaf, config: changed }) => {
    const dir = join(work, `removed-${++counter}`);
    cpSync(extrasDir, dir, { recursive: true });
    const paths = pkiPaths(config, dir);
    const certFile = leaf === 'server' ? paths.serverCert : paths.identityCert(leaf);
    const sansBefore = sansOf(certFile);
    expect(sansBefore).toContain(removed);
    const before = snapshot(paths.dir);
    const lines: string[] = [];
    // WHEN the PKI is ensured with that one name removed
    const result = await ensurePki(changed(), { baseDir: dir, log: (line) => lines.push(line) });
    // THEN only that leaf is re-issued, holding every other name it had and not the removed one
    expect(result.issued.map((file) => file.slice(paths.dir.length + 1)).sort()).toEqual([`${leaf}.crt`, `${leaf}.key`]);
    expect(sansOf(certFile)).toEqual(sansBefore.filter((san) => san !== removed));
    expect(cert(certFile).verify(cert(paths.caCert).publicKey)).toBe(true);
    const after = snapshot(paths.dir);
    for (const name of Object.keys(before).filter((file) => !file.startsWith(`${leaf}.`))) expect([name, after[name]]).toEqual([name, before[name]]);
    // AND the log says why, naming the certificate and the name it no longer should hold
    expect(lines.filter((line) => line.startsWith('↻'))).toEqual([
      expect.stringMatching(new RegExp(`^↻ re-issuing .*${leaf}\\.crt: its names \\(.*${escape(removed)}.*\\) differ from the configuration$`)),
    ]);
  });
});

describe('a pki.keyBits change', () => {
  test('re-issues every leaf with the new key size and keeps the CA', async () => {
    // GIVEN the fresh 2048-bit PKI and a configuration that asks for 3072 bits (4096 would be slow to generate)
    const dir = copyOfFresh();
    const paths = pkiPaths(config, dir);
    const bigger = parseConfig({ pki: { keyBits: 3072 } });
    const before = snapshot(paths.dir);
    const lines: string[] = [];
    // WHEN the PKI is ensured
    const result = await ensurePki(bigger, { baseDir: dir, log: (line) => lines.push(line) });
    // THEN every leaf has a new 3072-bit key, certified by the same CA
    const leaves = ['server', 'echo', 'client1', 'client2'];
    expect(result.issued.map((file) => file.slice(paths.dir.length + 1)).sort())
      .toEqual(['client1.crt', 'client1.key', 'client2.crt', 'client2.key', 'echo.crt', 'echo.key', 'server.crt', 'server.key']);
    for (const name of leaves) {
      expect([name, modulusBits(join(paths.dir, `${name}.key`))]).toEqual([name, 3072]);
      const leafCert = cert(join(paths.dir, `${name}.crt`));
      expect(leafCert.publicKey.asymmetricKeyDetails?.modulusLength).toBe(3072);
      expect(leafCert.verify(cert(paths.caCert).publicKey)).toBe(true);
    }
    // AND one line says why, for all of them
    expect(lines.filter((line) => line.startsWith('↻'))).toEqual([
      `↻ re-issuing ${leaves.map((name) => join(paths.dir, `${name}.crt`)).join(', ')}: its key is not RSA 3072`,
    ]);
    // AND the CA is not replaced silently: same bytes, still 2048 bits, no new CA in the log
    const after = snapshot(paths.dir);
    expect(after['ca.crt']).toBe(before['ca.crt']);
    expect(after['ca.key']).toBe(before['ca.key']);
    expect(modulusBits(paths.caKey)).toBe(2048);
    expect(lines.join('\n')).not.toMatch(/new CA/);
    // AND a second run with the same size keeps everything
    expect((await ensurePki(bigger, { baseDir: dir })).issued).toEqual([]);
  });
});

describe('a pki.keyType change', () => {
  const keyTypeOf = (file: string) => {
    const key = createPrivateKey(readFileSync(file));
    return key.asymmetricKeyType === 'ec' ? `ec ${key.asymmetricKeyDetails?.namedCurve}` : `rsa ${key.asymmetricKeyDetails?.modulusLength}`;
  };

  test('re-issues every leaf with the new key type, signed by the CA it keeps, and back again', async () => {
    // GIVEN the fresh RSA PKI and a configuration that asks for ECDSA
    const dir = copyOfFresh();
    const paths = pkiPaths(config, dir);
    const ecdsa = parseConfig({ pki: { keyType: 'ecdsa' } });
    const before = snapshot(paths.dir);
    const lines: string[] = [];
    // WHEN the PKI is ensured
    await ensurePki(ecdsa, { baseDir: dir, log: (line) => lines.push(line) });
    // THEN every leaf has a P-256 key, certified by the same RSA CA, which openssl accepts strictly
    const leaves = ['server', 'echo', 'client1', 'client2'];
    for (const name of leaves) {
      const file = join(paths.dir, `${name}.crt`);
      expect([name, keyTypeOf(join(paths.dir, `${name}.key`))]).toEqual([name, 'ec prime256v1']);
      expect(text(file)).toMatch(/Signature Algorithm: sha256WithRSAEncryption/);
      expect(openssl('verify', '-x509_strict', '-CAfile', paths.caCert, file).trim()).toBe(`${file}: OK`);
    }
    expect(lines.filter((line) => line.startsWith('↻'))).toEqual([
      `↻ re-issuing ${leaves.map((name) => join(paths.dir, `${name}.crt`)).join(', ')}: its key is not ECDSA P-256`,
    ]);
    // AND the CA is not replaced silently
    expect(snapshot(paths.dir)['ca.key']).toBe(before['ca.key']);
    expect(keyTypeOf(paths.caKey)).toBe('rsa 2048');
    // AND a second run keeps everything, and going back to RSA re-issues the leaves as RSA 2048
    expect((await ensurePki(ecdsa, { baseDir: dir })).issued).toEqual([]);
    await ensurePki(config, { baseDir: dir });
    for (const name of leaves) expect([name, keyTypeOf(join(paths.dir, `${name}.key`))]).toEqual([name, 'rsa 2048']);
  });

  test('an ECDSA CA signs RSA leaves (ecdsa-with-SHA256) when keyType goes back to rsa', async () => {
    // GIVEN the fresh ECDSA PKI, copied, and the default (RSA) configuration
    const dir = join(work, `copy-${++counter}`);
    cpSync(join(work, 'fresh-ecdsa'), dir, { recursive: true });
    const paths = pkiPaths(config, dir);
    // WHEN the PKI is ensured with RSA leaves
    await ensurePki(config, { baseDir: dir });
    // THEN the leaves are RSA, signed by the P-256 CA it kept
    expect(keyTypeOf(paths.caKey)).toBe('ec prime256v1');
    expect(keyTypeOf(paths.identityKey('client1'))).toBe('rsa 2048');
    expect(text(paths.identityCert('client1'))).toMatch(/Signature Algorithm: ecdsa-with-SHA256/);
    expect(openssl('verify', '-x509_strict', '-CAfile', paths.caCert, '-purpose', 'sslclient', paths.identityCert('client1')).trim())
      .toBe(`${paths.identityCert('client1')}: OK`);
  });
});

describe('a fleet of identities (ECDSA, 200)', () => {
  const fleet = parseConfig({
    pki: { keyType: 'ecdsa', identities: Array.from({ length: 200 }, (_, i) => ({ name: `dev${i}`, email: `dev${i}@example.com`, authorized: true })) },
  });

  test('is issued with progress and one summary line, not a line per certificate, and re-issued in one line per reason', async () => {
    const dir = join(work, 'fleet');
    const lines: string[] = [];
    const reported: Array<[number, number]> = [];
    // WHEN 200 identities are issued
    const result = await ensurePki(fleet, { baseDir: dir, log: (line) => lines.push(line), progress: (done, total) => reported.push([done, total]) });
    // THEN every one has its pair, signed by the new CA
    expect(result.issued).toHaveLength(2 * (200 + 3));
    const { paths } = result;
    expect(cert(paths.identityCert('dev199')).verify(cert(paths.caCert).publicKey)).toBe(true);
    expect(mode(paths.identityKey('dev199'))).toBe(0o600);
    // AND the log has the CA's line and one summary naming a few of them
    expect(lines).toEqual([
      expect.stringMatching(/^✔ issued .*keys\/ca\.crt \(new CA, ECDSA P-256, 1000 days\)$/),
      expect.stringMatching(/^✔ issued 202 certificates \(ECDSA P-256\) in \d+\.\d s, [\d,]+\/s: .*server\.crt, .*echo\.crt, .*dev0\.crt, .*dev1\.crt, .*dev2\.crt and 197 more$/),
    ]);
    // AND progress counted up to every certificate, then said it was done
    expect(reported[0]).toEqual([0, 203]);
    expect(reported.map(([done]) => done)).toEqual([...reported.map(([done]) => done)].sort((a, b) => a - b));
    expect(reported[reported.length - 1]).toEqual([203, 203]);

    // WHEN all of them must be renewed for the same reason THEN one line says so for all
    lines.length = 0;
    await ensurePki(fleet, { baseDir: dir, log: (line) => lines.push(line), renew: fleet.pki.identities.map(({ name }) => name) });
    expect(lines.filter((line) => line.startsWith('↻'))).toEqual([expect.stringMatching(/^↻ re-issuing .*dev0\.crt, .* and 195 more: renewal asked for$/)]);
  });
});

describe('serial numbers', () => {
  /** The content octets of the serialNumber INTEGER: the field after the [0] version in TBSCertificate (RFC 5280). */
  function serialInteger(der: Buffer): Buffer {
    let offset = 0;
    const element = (tag: number) => {
      if (der[offset] !== tag) throw new Error(`expected DER tag 0x${tag.toString(16)} at ${offset}, found 0x${der[offset].toString(16)}`);
      let length = der[offset + 1];
      let header = 2;
      if (length & 0x80) {
        header += length & 0x7f;
        length = der.readUIntBE(offset + 2, length & 0x7f);
      }
      return { content: offset + header, end: offset + header + length };
    };
    offset = element(0x30).content; // Certificate
    offset = element(0x30).content; // TBSCertificate
    offset = element(0xa0).end; // [0] version
    const serial = element(0x02);
    return der.subarray(serial.content, serial.end);
  }

  // The first random byte decides the sign; these cover a set high bit and bytes that would leave a leading zero.
  test.each([
    { first: 'ff', rest: 'ff', serial: '7F' + 'FF'.repeat(15) },
    { first: '80', rest: '00', serial: '01' + '00'.repeat(15) },
    { first: '00', rest: '00', serial: '01' + '00'.repeat(15) },
    { first: '00', rest: 'ff', serial: '01' + 'FF'.repeat(15) },
    { first: '7f', rest: '80', serial: '7F' + '80'.repeat(15) },
  ])('random bytes $first $rest… give the positive, minimally encoded serial $serial', async ({ first, rest, serial }) => {
    // GIVEN a byte source that yields chosen bytes, and the fresh PKI's keys (no key generation)
    const keyPair = (keyFile: string) => {
      const privateKey = createPrivateKey(readFileSync(keyFile));
      return { privateKey, publicKey: createPublicKey(privateKey) };
    };
    const randomBytes = (size: number) => Buffer.from(first + rest.repeat(size - 1), 'hex');
    // WHEN a CA and a leaf are issued with it
    const issued = await issueCertificates({
      keys: [keyPair(fresh.paths.serverKey), keyPair(fresh.paths.caKey)],
      caCommonName: 'serial test CA',
      leaves: [{ commonName: 'serial', dnsNames: ['localhost'], ips: [], emails: [], usages: ['serverAuth'] }],
      validityDays: 1,
      now: new Date(),
      randomBytes,
    });
    const dir = mkdtempSync(join(work, 'serial-'));
    for (const [name, pem] of [['ca', issued.ca!.cert], ['leaf', issued.leaves[0].cert]]) {
      const file = join(dir, `${name}.crt`);
      writeFileSync(file, pem);
      // THEN the DER INTEGER is 16 octets, sign bit clear, with no superfluous leading zero
      const integer = serialInteger(new X509Certificate(pem).raw);
      expect(integer.toString('hex').toUpperCase()).toBe(serial);
      expect(integer[0] & 0x80).toBe(0);
      expect(integer[0] === 0 && (integer[1] & 0x80) === 0).toBe(false);
      // AND Node and openssl read the same positive serial
      expect(new X509Certificate(pem).serialNumber).toBe(serial);
      const dump = openssl('x509', '-in', file, '-noout', '-serial', '-text');
      expect(dump.split('\n')[0]).toBe(`serial=${serial}`);
      expect(dump).not.toMatch(/Negative/);
    }
  });
});

describe('damaged or foreign material is an error naming the file and the fix, and nothing is written', () => {
  async function expectPkiError(dir: string, message: RegExp, now?: Date): Promise<void> {
    const before = snapshot(join(dir, 'keys'));
    const failure = await ensurePki(config, { baseDir: dir, now }).then(() => undefined, (error: unknown) => error);
    expect(failure).toBeInstanceOf(PkiError);
    expect((failure as Error).message).toMatch(message);
    expect(snapshot(join(dir, 'keys'))).toEqual(before);
  }

  test('a key that does not belong to its certificate', async () => {
    const dir = copyOfFresh();
    const paths = pkiPaths(config, dir);
    cpSync(paths.identityKey('client2'), paths.identityKey('client1'));
    await expectPkiError(dir, /client1\.key does not belong to .*client1\.crt: delete .*client1\.crt and .*client1\.key to have them re-issued/);
  });

  test('a certificate signed by another CA', async () => {
    const dir = copyOfFresh();
    const other = await ensurePki(config, { baseDir: join(work, 'other-ca') });
    const paths = pkiPaths(config, dir);
    cpSync(other.paths.serverCert, paths.serverCert);
    cpSync(other.paths.serverKey, paths.serverKey);
    await expectPkiError(dir, /server\.crt is not signed by the current CA: delete/);
  });

  test('an unreadable CA certificate, and a CA key without its certificate', async () => {
    const dir = copyOfFresh();
    const paths = pkiPaths(config, dir);
    writeFileSync(paths.caCert, 'not a certificate\n');
    await expectPkiError(dir, /ca\.crt is not a PEM certificate: restore it from a backup, or run `npm run certs -- --force`/);
    rmSync(paths.caCert);
    await expectPkiError(dir, /ca\.crt is missing but .*ca\.key exists/);
    expect(existsSync(paths.caCert)).toBe(false);
  });

  test('an expired CA is not replaced without --force', async () => {
    await expectPkiError(copyOfFresh(), /ca\.crt expired on .*: run `npm run certs -- --force` to create a new CA/, new Date(Date.now() + 1001 * DAY_MS));
  });

  test('a corrupt leaf key', async () => {
    const dir = copyOfFresh();
    // GIVEN the key's PEM armour around a truncated body
    const keyFile = pkiPaths(config, dir).identityKey('client2');
    const lines = readFileSync(keyFile, 'utf8').trim().split('\n');
    writeFileSync(keyFile, [lines[0], lines[1], lines[lines.length - 1], ''].join('\n'));
    await expectPkiError(dir, /client2\.key is not a PEM private key: delete/);
  });
});

describe('npm run certs (scripts/certs.mjs)', () => {
  /** Runs scripts/certs.mjs of a copy of the project whose keys/ is `dir`'s: the script works on the project it lives in. */
  const run = (dir: string, ...args: string[]) => {
    const project = copyProject(mkdtempSync(join(work, 'certs-project-')));
    if (existsSync(join(dir, 'keys'))) renameSync(join(dir, 'keys'), join(project, 'keys'));
    try {
      return spawnSync(process.execPath, [join(project, 'scripts', 'certs.mjs'), ...args], {
        cwd: project, encoding: 'utf8', env: { ...process.env, K3S_NATS_TLS_CONFIG: '', FORCE_COLOR: '0' },
      });
    } finally {
      if (existsSync(join(project, 'keys'))) renameSync(join(project, 'keys'), join(dir, 'keys'));
    }
  };

  test('keeps valid material and says so', () => {
    const dir = copyOfFresh();
    const before = snapshot(join(dir, 'keys'));
    const result = run(dir);
    expect(result.status).toBe(0);
    expect(result.stdout).toMatch(/0 certificate\(s\) issued, 5 still valid/);
    expect(result.stdout).toMatch(/Nothing to do\.\n$/);
    expect(snapshot(join(dir, 'keys'))).toEqual(before);
  });

  test('refuses a PKI folder that overlaps the output folder before a key is written', () => {
    const project = copyProject(mkdtempSync(join(work, 'certs-overlap-')));
    writeFileSync(join(project, CONFIG_FILE), 'pki:\n  dir: out/keys\n');
    const result = spawnSync(process.execPath, [join(project, 'scripts', 'certs.mjs')], {
      cwd: project, encoding: 'utf8', env: { ...process.env, K3S_NATS_TLS_CONFIG: '', CDK8S_OUTDIR: 'out', FORCE_COLOR: '0' },
    });
    expect(result.status).toBe(1);
    expect(result.stderr).toBe("✖ pki.dir 'out/keys' and CDK8S_OUTDIR 'out' overlap: keep the keys and the manifests in separate folders.\n");
    expect(existsSync(join(project, 'out'))).toBe(false);
  });

  test('exits 1 with the PkiError message alone on damaged material', () => {
    const dir = copyOfFresh();
    writeFileSync(join(dir, 'keys', 'server.crt'), 'garbage');
    const result = run(dir);
    expect(result.status).toBe(1);
    expect(result.stderr).toMatch(/^✖ .*server\.crt is not a PEM certificate: delete .*server\.crt and .*server\.key/);
    expect(result.stderr).not.toMatch(/\n\s+at /);
  });

  test('--help prints the usage and issues nothing; a misspelt --force is refused', () => {
    // GIVEN a folder without a PKI
    const dir = mkdtempSync(join(tmpdir(), 'certs-flags-'));
    // WHEN asked for help THEN it prints the usage and writes no key
    const help = run(dir, '--help');
    expect(help.status).toBe(0);
    expect(help.stdout).toMatch(/^Usage: npm run certs -- \[flags\]/);
    expect(help.stdout).toContain('--renew NAME');
    expect(existsSync(join(dir, 'keys'))).toBe(false);
    // WHEN --froce is given THEN it exits 2 naming the flag, before anything is written
    const typo = run(dir, '--froce');
    expect(typo.status).toBe(2);
    expect(typo.stderr).toContain('unknown flag --froce');
    expect(existsSync(join(dir, 'keys'))).toBe(false);
  });

  test('--renew NAME re-issues just that certificate from the same CA; the others stay byte for byte', () => {
    const dir = copyOfFresh();
    const before = snapshot(join(dir, 'keys'));
    const result = run(dir, '--renew', 'client1', '--renew', 'server');
    expect(result.status).toBe(0);
    expect(result.stdout).toContain('↻ re-issuing keys/server.crt, keys/client1.crt: renewal asked for');
    const after = snapshot(join(dir, 'keys'));
    const changed = Object.keys(before).filter((name) => before[name] !== after[name]).sort();
    expect(changed).toEqual(['client1.crt', 'client1.key', 'server.crt', 'server.key']);
    // AND the renewed certificate comes from the same CA
    expect(cert(join(dir, 'keys', 'client1.crt')).verify(cert(join(dir, 'keys', 'ca.crt')).publicKey)).toBe(true);
    expect(result.stdout).toContain("Next: npm run synth to put keys/server.crt into the cluster's Secrets");
  });

  test('--renew of a client alone says to hand it to the client, not to synthesize', () => {
    const dir = copyOfFresh();
    const result = run(dir, '--renew', 'client1');
    expect(result.status).toBe(0);
    expect(result.stdout).toContain('Next: hand keys/client1.crt and its .key to the client; nothing in the cluster changes.');
    expect(result.stdout).not.toContain('npm run synth');
  });

  test('--renew ca is refused, pointing at --force', () => {
    const dir = copyOfFresh();
    const before = snapshot(join(dir, 'keys'));
    const result = run(dir, '--renew', 'ca');
    expect(result.status).toBe(1);
    expect(result.stderr).toBe("✖ cannot renew 'ca' alone: a new CA means new certificates for everyone — `npm run certs -- --force` replaces them all " +
      '(every client then needs its new files)\n');
    expect(snapshot(join(dir, 'keys'))).toEqual(before);
  });

  test('--renew of a name the configuration does not have is refused, listing the names it knows', () => {
    const dir = copyOfFresh();
    const before = snapshot(join(dir, 'keys'));
    const result = run(dir, '--renew', 'laptop');
    expect(result.status).toBe(1);
    expect(result.stderr).toContain("✖ cannot renew 'laptop': not a certificate of this configuration (known: server, echo, client1, client2)");
    expect(snapshot(join(dir, 'keys'))).toEqual(before);
  });

  test('files of an identity no longer configured are reported, and --prune deletes exactly those', () => {
    // GIVEN keys/ still holds the files of an identity removed from the configuration
    const dir = copyOfFresh();
    cpSync(join(dir, 'keys', 'client2.crt'), join(dir, 'keys', 'old-laptop.crt'));
    cpSync(join(dir, 'keys', 'client2.key'), join(dir, 'keys', 'old-laptop.key'));
    const before = snapshot(join(dir, 'keys'));
    // WHEN certs runs THEN it reports them and keeps them
    const report = run(dir);
    expect(report.stdout).toContain('! keys/old-laptop.crt, keys/old-laptop.key: no such identity in the configuration any more — `npm run certs -- --prune` deletes them');
    expect(snapshot(join(dir, 'keys'))).toEqual(before);
    // WHEN certs --prune runs THEN exactly those are gone
    const prune = run(dir, '--prune');
    expect(prune.stdout).toContain('✔ pruned keys/old-laptop.crt, keys/old-laptop.key');
    // (neither run, having something to report, goes on to say there was nothing to do)
    expect(prune.stdout).not.toContain('Nothing to do');
    expect(report.stdout).not.toContain('Nothing to do');
    const { ['old-laptop.crt']: _crt, ['old-laptop.key']: _key, ...rest } = before;
    expect(snapshot(join(dir, 'keys'))).toEqual(rest);
  });
});

describe('the route certificate of a cluster', () => {
  test('one with the right names and key but only serverAuth, as an old one had, is re-issued for both ends of a route', async () => {
    // GIVEN a cluster's PKI whose route certificate is replaced by one from the same CA, key and names, but serverAuth alone
    const dir = copyOfFresh();
    const three = parseConfig({ nats: { replicas: 3 } });
    const { paths } = await ensurePki(three, { baseDir: dir });
    const names = sansOf(paths.routeCert);
    const privateKey = createPrivateKey(readFileSync(paths.routeKey));
    const [serverAuthOnly] = (await issueCertificates({
      ca: { cert: readFileSync(paths.caCert, 'utf8'), key: createPrivateKey(readFileSync(paths.caKey)) },
      keys: [{ privateKey, publicKey: createPublicKey(privateKey) }],
      caCommonName: 'unused: the CA exists',
      leaves: [{
        commonName: cert(paths.routeCert).subject.replace(/^CN=/, ''),
        dnsNames: names.filter((name) => name.startsWith('DNS:')).map((name) => name.slice('DNS:'.length)),
        ips: names.filter((name) => name.startsWith('IP Address:')).map((name) => name.slice('IP Address:'.length)),
        emails: [],
        usages: ['serverAuth'],
      }],
      validityDays: 100,
      now: new Date(),
    })).leaves;
    writeFileSync(paths.routeCert, serverAuthOnly.cert);
    expect(cert(paths.routeCert).keyUsage).toEqual(['1.3.6.1.5.5.7.3.1']);
    expect(sansOf(paths.routeCert)).toEqual(names);

    // WHEN the PKI is ensured again
    const lines: string[] = [];
    const again = await ensurePki(three, { baseDir: dir, log: (line) => lines.push(line) });

    // THEN the route pair alone is re-issued, saying why, and now serves both ends of a route
    expect(again.issued.map((file) => file.split('/').pop()).sort()).toEqual(['route.crt', 'route.key']);
    expect(lines.join('\n')).toMatch(/re-issuing .*route\.crt: it is not a serverAuth \+ clientAuth certificate/);
    expect(cert(paths.routeCert).keyUsage?.sort()).toEqual(['1.3.6.1.5.5.7.3.1', '1.3.6.1.5.5.7.3.2']);
  });

  test('replicas 1 → 3 issues a route certificate for every name the routes dial; → 5 re-issues it; the rest stays', async () => {
    // GIVEN a single-server PKI
    const dir = copyOfFresh();
    const before = snapshot(join(dir, 'keys'));
    // WHEN the configuration asks for 3 servers
    const three = parseConfig({ nats: { replicas: 3 } });
    const first = await ensurePki(three, { baseDir: dir });
    // THEN only route.crt/.key are new: server and client files are kept byte for byte
    expect(first.issued.map((file) => file.split('/').pop()).sort()).toEqual(['route.crt', 'route.key']);
    const after = snapshot(join(dir, 'keys'));
    for (const name of Object.keys(before)) expect([name, after[name]]).toEqual([name, before[name]]);
    // AND the route certificate serves both ends of a route, for each pod in both the short and the long form
    const route = cert(join(dir, 'keys', 'route.crt'));
    expect(route.keyUsage?.sort()).toEqual(['1.3.6.1.5.5.7.3.1', '1.3.6.1.5.5.7.3.2']);
    for (const i of [0, 1, 2]) {
      expect(route.checkHost(`nats-${i}.nats-headless`)).toBe(`nats-${i}.nats-headless`);
      expect(route.checkHost(`nats-${i}.nats-headless.nats.svc.cluster.local`)).toBe(`nats-${i}.nats-headless.nats.svc.cluster.local`);
    }
    expect(route.checkHost('nats-3.nats-headless')).toBeUndefined();
    expect(first.route?.cert).toBe(readFileSync(join(dir, 'keys', 'route.crt'), 'utf8'));
    // WHEN 5 servers THEN the route certificate is re-issued to name nats-3 and nats-4
    const lines: string[] = [];
    const five = await ensurePki(parseConfig({ nats: { replicas: 5 } }), { baseDir: dir, log: (line) => lines.push(line) });
    expect(five.issued.map((file) => file.split('/').pop()).sort()).toEqual(['route.crt', 'route.key']);
    expect(lines.join('\n')).toMatch(/re-issuing .*route\.crt: its names .* differ from the configuration/);
    expect(cert(join(dir, 'keys', 'route.crt')).checkHost('nats-4.nats-headless')).toBe('nats-4.nats-headless');
  });
});

describe('the check record (keys/.checked-pairs): what the PKI checked is not parsed again, and nothing else passes for it', () => {
  const ecdsa = parseConfig({ pki: { keyType: 'ecdsa' } });
  /** A copy of the fresh ECDSA PKI: its keys are all the same size, so one can stand in for another byte for byte. */
  const copyOfEcdsa = () => {
    const dir = join(work, `record-${++counter}`);
    cpSync(join(work, 'fresh-ecdsa'), dir, { recursive: true });
    return dir;
  };
  const recordOf = (dir: string) => join(dir, 'keys', CHECK_RECORD);
  // x509-checks.ts calls node:crypto's createPrivateKey through the module object, so a spy sees every key it parses.
  const crypto = require('node:crypto') as typeof import('node:crypto');
  /** How many private keys `run` parses. */
  async function keysParsedBy(run: () => Promise<unknown>): Promise<number> {
    const spy = jest.spyOn(crypto, 'createPrivateKey');
    try {
      await run();
      return spy.mock.calls.length;
    } finally {
      spy.mockRestore();
    }
  }
  const failureOf = (run: Promise<unknown>) => run.then(() => undefined, (error: unknown) => error as Error);

  test('issuing records every pair: the next run parses only the CA key and leaves the record as it is', async () => {
    const dir = copyOfEcdsa();
    const before = readFileSync(recordOf(dir), 'utf8');
    expect(mode(recordOf(dir))).toBe(0o600);
    expect(await keysParsedBy(() => ensurePki(ecdsa, { baseDir: dir }))).toBe(1);
    expect(readFileSync(recordOf(dir), 'utf8')).toBe(before);
    // AND without the record every pair is checked in full, and the same record is written again
    rmSync(recordOf(dir));
    expect(await keysParsedBy(() => ensurePki(ecdsa, { baseDir: dir }))).toBe(5);
    expect(readFileSync(recordOf(dir), 'utf8')).toBe(before);
  });

  test('a key replaced by another of the same size is checked in full and refused', async () => {
    const dir = copyOfEcdsa();
    const paths = pkiPaths(ecdsa, dir);
    const other = readFileSync(paths.identityKey('client2'));
    expect(other.length).toBe(readFileSync(paths.identityKey('client1')).length);
    writeFileSync(paths.identityKey('client1'), other);
    expect((await failureOf(ensurePki(ecdsa, { baseDir: dir })))?.message).toMatch(/client1\.key does not belong to .*client1\.crt: delete/);
  });

  test('a certificate with one bit of its signature flipped (same size) is checked in full and refused', async () => {
    const dir = copyOfEcdsa();
    const paths = pkiPaths(ecdsa, dir);
    const pem = readFileSync(paths.identityCert('client1'), 'utf8');
    const der = new X509Certificate(pem).raw;
    // Ten bytes from the end: inside the signature's second integer, so the certificate still parses.
    der[der.length - 10] ^= 0x01;
    const flipped = `-----BEGIN CERTIFICATE-----\n${der.toString('base64').replace(/.{1,64}/g, '$&\n')}-----END CERTIFICATE-----\n`;
    expect(flipped.length).toBe(pem.length);
    writeFileSync(paths.identityCert('client1'), flipped);
    expect((await failureOf(ensurePki(ecdsa, { baseDir: dir })))?.message).toMatch(/client1\.crt is not signed by the current CA: delete/);
  });

  test('recorded facts are still held against the time and the configuration', async () => {
    // GIVEN the record of every pair
    const dir = copyOfEcdsa();
    const paths = pkiPaths(ecdsa, dir);
    // WHEN a changed configuration asks for another email and an RSA key THEN client1 is re-issued, for the first reason found
    const lines: string[] = [];
    const changed = parseConfig({ pki: { keyType: 'ecdsa', identities: [{ name: 'client1', email: 'ops@example.com', authorized: true }, { name: 'client2' }] } });
    const renamed = await ensurePki(changed, { baseDir: dir, log: (line) => lines.push(line) });
    expect(renamed.issued.map((file) => file.slice(paths.dir.length + 1))).toEqual(['client1.crt', 'client1.key']);
    expect(lines).toContain(`↻ re-issuing ${paths.identityCert('client1')}: its names (email:client1@example.com) differ from the configuration`);
    const rsa = await ensurePki(parseConfig({ pki: { identities: [{ name: 'client1', email: 'ops@example.com', authorized: true }, { name: 'client2' }] } }), { baseDir: dir });
    expect(rsa.issued).toHaveLength(8);
    // AND 980 days later, within renewWithinDays of expiry, every leaf is re-issued although the record vouches for its bytes
    lines.length = 0;
    const later = await ensurePki(ecdsa, { baseDir: dir, now: new Date(Date.now() + 980 * DAY_MS), log: (line) => lines.push(line) });
    expect(later.issued).toHaveLength(8);
    expect(lines.join('\n')).toMatch(/client2\.crt.*: it expires on/);
  });

  test('a record edited to extend what it vouches for counts as no record: the expiring pairs are re-issued', async () => {
    // GIVEN a record whose dates were moved ten years on, its seal left as it was
    const dir = copyOfEcdsa();
    const record = readFileSync(recordOf(dir), 'utf8');
    const extended = record.replace(/("validTo":"[A-Z][a-z]{2} [ \d]\d \d\d:\d\d:\d\d )(\d{4})/g, (_, head: string, year: string) => `${head}${Number(year) + 10}`);
    expect(extended).not.toBe(record);
    writeFileSync(recordOf(dir), extended);
    // WHEN the PKI is ensured 980 days later THEN every pair was checked in full and re-issued
    expect((await ensurePki(ecdsa, { baseDir: dir, now: new Date(Date.now() + 980 * DAY_MS) })).issued).toHaveLength(8);
  });

  test.each([
    ['cut short', (text: string) => text.slice(0, text.length / 2)],
    ['not a record', () => 'hello\n'],
    ['empty', () => ''],
    ['sealed for another CA', (text: string) => text.replace(/"ca":"[0-9a-f]{64}"/, `"ca":"${'0'.repeat(64)}"`)],
  ])('a record %s means a full check, then a whole new record', async (_, damage) => {
    const dir = copyOfEcdsa();
    const whole = readFileSync(recordOf(dir), 'utf8');
    writeFileSync(recordOf(dir), damage(whole));
    expect(await keysParsedBy(() => ensurePki(ecdsa, { baseDir: dir }))).toBe(5);
    expect(readFileSync(recordOf(dir), 'utf8')).toBe(whole);
  });

  test('certs --prune keeps the record; down --purge (removePki) deletes it with the rest', () => {
    const dir = copyOfEcdsa();
    expect(pruneStrayPkiFiles(ecdsa, dir)).toEqual([]);
    expect(existsSync(recordOf(dir))).toBe(true);
    const removed = removePki(ecdsa, dir);
    expect(removed.removed).toContain(recordOf(dir));
    expect(removed).toMatchObject({ kept: [], folderRemoved: true });
  });
});
