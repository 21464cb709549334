import { execFile, execFileSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseConfig, type Config } from '../lib/config/config';
import { pkiFilesIn } from '../lib/pki/paths';
import { ensurePki, type PkiResult } from '../lib/pki/pki';
import { UsageError } from '../lib/util/errors';
import { bounded } from '../lib/verify/bounded';
import { certificateWarnings } from '../lib/verify/keys';
import { verifyOptions } from '../lib/verify/options';
import { formatProgress, type VerifyProgress } from '../lib/verify/progress';
import { formatTable, summarize, type CheckResult } from '../lib/verify/report';
import { runVerify } from '../lib/verify/verify';
import {
  startEndlessHttpServer, startEndlessInfoServer, startErrNatsServer, startForwarder, startMuteAfterConnectServer, startSilentServer,
  startHttpsEcho, startStalledTlsServer, type FakeServer, type HttpsEcho,
} from './support/fake-servers';
import { startNatsServer, type RunningNatsServer } from './support/nats-server';
import type { NatsServerConfig } from './support/nats-server-config';

const SCRIPT = join(__dirname, '..', 'scripts', 'verify.mjs');
const ECHO_TEXT = parseConfig({}).echo.text;

interface ScriptRun {
  readonly code: number;
  readonly output: string;
  readonly ms: number;
}

/** Past this a run counts as hung and is killed, so a hang fails the test instead of timing it out. */
const HANG_MS = 25000;
/** What `verify --timeout T` may take beyond T: node and zx start-up on a busy machine, one last attempt. */
const EXIT_SLACK_MS = 8000;

/** Runs scripts/verify.mjs as `up.mjs` will, in a folder without a k3s-nats-tls.yaml, so the defaults apply. */
function runScript(cwd: string, args: string[]): Promise<ScriptRun> {
  return runNode(cwd, [SCRIPT, ...(args.includes('--https-url') ? [] : ['--https-url', healthyHttpsUrl]), ...args]);
}

/** The healthy HTTPS echo every run checks unless a test passes its own --https-url; set in beforeAll. */
let healthyHttpsUrl = 'https://localhost:1';

function runNode(cwd: string, args: string[]): Promise<ScriptRun> {
  const env: NodeJS.ProcessEnv = { ...process.env, FORCE_COLOR: '0' };
  delete env.K3S_NATS_TLS_CONFIG;
  const started = Date.now();
  return new Promise((resolve) => {
    execFile(process.execPath, args, { cwd, env, timeout: HANG_MS, killSignal: 'SIGKILL' }, (error, stdout, stderr) => {
      const code = error ? (typeof error.code === 'number' ? error.code : -1) : 0;
      resolve({ code, output: stdout + stderr, ms: Date.now() - started });
    });
  });
}

/** The table row for one check: its mark, its name, and the time column after two spaces. */
const rowOf = (output: string, check: string): string =>
  output.split('\n').find((line) => /^[✔✖] /.test(line) && line.slice(2).startsWith(`${check} `) && / {2}(\d+ ms|\d+\.\d s)$/.test(line))
  ?? `(no row for ${check} in:\n${output})`;

/** An http-echo stand-in: answers 404 (Traefik before its routes load) `notFoundFirst` times, then 200 `text`. */
async function startEcho(text: string, notFoundFirst = 0): Promise<{ url: string; requests: () => number; server: Server }> {
  let requests = 0;
  const server = createServer((_request, response) => {
    requests += 1;
    if (requests <= notFoundFirst) {
      response.writeHead(404).end('404 page not found\n');
      return;
    }
    response.writeHead(200, { 'content-type': 'text/plain' }).end(`${text}\n`);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, requests: () => requests, server };
}

/** What openssl, not Node, reads from a certificate file: its SHA-256 fingerprint, end date and names. */
function opensslView(file: string): { fingerprint: string; notAfter: string; sans: string } {
  const x509 = (...args: string[]): string =>
    execFileSync('openssl', ['x509', '-in', file, '-noout', ...args], { encoding: 'utf8', timeout: 10000, stdio: ['ignore', 'pipe', 'pipe'] });
  return {
    fingerprint: x509('-fingerprint', '-sha256').trim().replace(/^.*Fingerprint=/i, ''),
    notAfter: x509('-enddate').trim().replace(/^notAfter=/, ''),
    sans: x509('-ext', 'subjectAltName').split('\n')[1]?.trim() ?? '',
  };
}

const closeServer = (server: Server): Promise<void> => new Promise((resolve) => server.close(() => resolve()));

/** A loopback port nothing listens on (it was free a moment ago). */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await closeServer(server);
  return port;
}

/** http-echo over HTTPS presenting the echo certificate `pki` issued: what Traefik serves once up applied that PKI's Secret. */
const httpsEchoFor = (pki: PkiResult): Promise<HttpsEcho> =>
  startHttpsEcho({ cert: readFileSync(pki.paths.echoCert, 'utf8'), key: readFileSync(pki.paths.echoKey, 'utf8'), text: ECHO_TEXT });

const serverFor = (config: Config, pki: PkiResult): Promise<RunningNatsServer> =>
  startNatsServer({ config, caFile: pki.paths.caCert, certFile: pki.paths.serverCert, keyFile: pki.paths.serverKey });

const byCheck = (results: readonly CheckResult[]) => Object.fromEntries(results.map((r) => [r.check, r]));

const NATS_CHECKS = ['nats client1 (authorized)', 'nats client2 (not authorized)', 'nats without client certificate'];
/** Every NATS row of the default configuration, in table order: the identities' and the served certificate's. */
const NATS_ROWS = [...NATS_CHECKS, 'nats server certificate'];

/** `settings` less the keys named. */
const without = (settings: object, keys: readonly string[]): object =>
  Object.fromEntries(Object.entries(settings).filter(([key]) => !keys.includes(key)));

/** A server without TLS, as a nats-server started with the defaults (or a chart whose TLS values were ignored) runs. */
const withoutTls = (settings: NatsServerConfig): object => without(settings, ['tls', 'authorization']);

/** TLS with our server certificate, but no client certificate required and no users: anyone is admitted. */
const tlsWithoutClientCertificates = (settings: NatsServerConfig): object => {
  const { tls } = settings;
  return { ...without(settings, ['authorization']), tls: { ca_file: tls.ca_file, cert_file: tls.cert_file, key_file: tls.key_file } };
};

/**
 * runVerify in a node process of its own, without scripts/verify.mjs and its exit guard: the
 * process ends by itself only if the checks left nothing open. Prints the results as JSON.
 */
function runVerifyAlone(cwd: string, flags: Record<string, string>, keysDir: string): Promise<ScriptRun> {
  const program = `
    const { parseConfig } = require('./lib/config/config.ts');
    const { verifyOptions } = require('./lib/verify/options.ts');
    const { runVerify } = require('./lib/verify/verify.ts');
    const [flags, dir] = JSON.parse(process.argv[1]);
    runVerify(verifyOptions({ _: [], ...flags, keys: dir }, parseConfig({}))).then((results) => console.log(JSON.stringify(results)));`;
  return runNode(cwd, ['--require', 'sucrase/register/ts', '--eval', program, JSON.stringify([flags, keysDir])]);
}

describe('npm run verify', () => {
  let tmp: string;
  let config: Config;
  let pki: PkiResult;
  /** Another PKI with the same names (its own CA), and the server's authorization also lists client2 — as stale Helm values would. */
  let admitsClient2Config: Config;
  let admitsClient2Pki: PkiResult;
  let healthy: RunningNatsServer;
  let admitsClient2: RunningNatsServer;
  let echo: Awaited<ReturnType<typeof startEcho>>;
  let wrongEcho: Awaited<ReturnType<typeof startEcho>>;
  let httpsEcho: HttpsEcho;
  let admitsClient2HttpsEcho: HttpsEcho;

  beforeAll(async () => {
    tmp = mkdtempSync(join(tmpdir(), 'verify-'));
    config = parseConfig({});
    admitsClient2Config = parseConfig({
      pki: {
        dir: 'keys-admits-client2',
        identities: [
          { name: 'client1', email: 'client1@example.com', authorized: true },
          { name: 'client2', email: 'client2@example.com', authorized: true },
        ],
      },
    });
    [pki, admitsClient2Pki] = await Promise.all([ensurePki(config, { baseDir: tmp }), ensurePki(admitsClient2Config, { baseDir: tmp })]);
    [healthy, admitsClient2, echo, wrongEcho] = await Promise.all([
      serverFor(config, pki),
      serverFor(admitsClient2Config, admitsClient2Pki),
      startEcho(ECHO_TEXT),
      startEcho('Hello from somewhere else'),
    ]);
    [httpsEcho, admitsClient2HttpsEcho] = await Promise.all([httpsEchoFor(pki), httpsEchoFor(admitsClient2Pki)]);
    healthyHttpsUrl = httpsEcho.url;
  });

  afterAll(async () => {
    await Promise.all([healthy?.stop(), admitsClient2?.stop(), httpsEcho?.close(), admitsClient2HttpsEcho?.close()]);
    await Promise.all([echo, wrongEcho].filter(Boolean).map(({ server }) => closeServer(server)));
    rmSync(tmp, { recursive: true, force: true });
  });

  /** The flags up.mjs passes, pointing NATS at `natsUrl`, with a 2 s bound. */
  const flagsFor = (natsUrl: string, timeout = '2'): string[] =>
    ['--echo-url', echo.url, '--nats-url', natsUrl, '--keys', pki.paths.dir, '--timeout', timeout];

  const optionsFor = (natsUrl: string, timeout: number, echoUrl = echo.url) =>
    ({ ...verifyOptions({ _: [], 'echo-url': echoUrl, 'https-url': httpsEcho.url, 'nats-url': natsUrl, timeout }, config), keys: pki.paths });

  describe('the script', () => {
    it('exits 0 and prints a table of matching checks when the deployment is healthy', async () => {
      // GIVEN http-echo answering the configured text and a nats-server configured like the chart
      // WHEN the script runs with the flags up.mjs passes
      const run = await runScript(tmp, flagsFor(healthy.url, '10'));

      // THEN every check matched, the table shows expected and got, and it exits 0
      expect(run.output).toMatch(/check\s+expected\s+got\s+time/);
      expect(rowOf(run.output, 'echo')).toMatch(/^✔ echo http:\/\/127\.0\.0\.1:\d+\s+200 "Hello from echo"\s+200 "Hello from echo"\s+(\d+ ms|\d+\.\d s)$/);
      expect(rowOf(run.output, 'nats client1 (authorized)')).toMatch(/^✔ .*admitted: publishes and receives\s+admitted: published and received/);
      expect(rowOf(run.output, 'nats client2 (not authorized)')).toMatch(/^✔ .*refused: Authorization Violation\s+refused: Authorization Violation/);
      // Over TLS 1.3 Go's server answers a client without a certificate with the certificate_required alert (RFC 8446).
      expect(rowOf(run.output, 'nats without client certificate')).toMatch(/^✔ .*refused by TLS handshake\s+refused by TLS handshake \(alert certificate required\)/);
      expect(run.output).toContain('all 6 checks passed');
      expect(run.code).toBe(0);
    });

    it('exits 1 naming client2 when the server admits an identity that must be refused', async () => {
      // GIVEN a server whose authorization also lists client2 (certificates from the same names)
      // WHEN the script checks it against the default configuration, where client2 is not authorized
      const run = await runScript(tmp, [
        '--echo-url', echo.url, '--https-url', admitsClient2HttpsEcho.url, '--nats-url', admitsClient2.url,
        '--keys', admitsClient2Pki.paths.dir, '--timeout', '10',
      ]);

      // THEN the client2 row fails with what happened, the others still pass, and it exits 1
      expect(rowOf(run.output, 'nats client2 (not authorized)')).toMatch(/^✖ .*refused: Authorization Violation\s+admitted: published and received/);
      expect(rowOf(run.output, 'nats client1 (authorized)')).toMatch(/^✔ /);
      expect(run.output).toContain('1 of 6 checks failed: nats client2 (not authorized)');
      expect(run.code).toBe(1);
    });

    it('exits 1 when http-echo answers another text', async () => {
      // GIVEN an echo endpoint answering 200 with the wrong text
      // WHEN the script runs
      const run = await runScript(tmp, ['--echo-url', wrongEcho.url, '--nats-url', healthy.url, '--keys', pki.paths.dir, '--timeout', '10']);

      // THEN the echo row shows both texts and it exits 1 without waiting for the timeout
      expect(rowOf(run.output, 'echo')).toMatch(/^✖ echo .*200 "Hello from echo"\s+200 "Hello from somewhere else"/);
      expect(run.output).toContain('1 of 6 checks failed: echo');
      expect(run.code).toBe(1);
      expect(run.ms).toBeLessThan(8000);
    });

    it('shows progress while nothing listens, then exits 1 within the bound saying the cluster is not up', async () => {
      // GIVEN two loopback ports nothing listens on
      const [httpPort, httpsPort, natsPort] = [await closedPort(), await closedPort(), await closedPort()];

      // WHEN the script runs with a 6 s bound (progress comes every 5 s)
      const run = await runScript(tmp, [
        '--echo-url', `http://127.0.0.1:${httpPort}`, '--https-url', `https://localhost:${httpsPort}`, '--nats-url', `tls://127.0.0.1:${natsPort}`,
        '--keys', pki.paths.dir, '--timeout', '6',
      ]);

      // THEN while it retried it said what it waits for and why
      expect(run.output).toMatch(new RegExp(
        `^… \\d+ s: still waiting for echo http://127\\.0\\.0\\.1:${httpPort} — nothing listening \\(connection refused\\); ` +
        `echo https://localhost:${httpsPort} — nothing listening \\(connection refused\\); ` +
        `nats tls://127\\.0\\.0\\.1:${natsPort} \\(4 checks\\) — nothing listening \\(connection refused\\)$`, 'm'));
      // AND it gave up after about the bound, every row says nothing listens, and it exits 1
      expect(run.code).toBe(1);
      expect(run.ms).toBeGreaterThanOrEqual(5500);
      expect(run.ms).toBeLessThan(6000 + EXIT_SLACK_MS);
      for (const check of [`echo http://127.0.0.1:${httpPort}`, `echo https://localhost:${httpsPort}`, ...NATS_ROWS]) {
        expect(rowOf(run.output, check)).toMatch(/^✖ .*nothing listening \(connection refused\)/);
      }
      expect(run.output).toContain(`nothing answered within 6 s at http://127.0.0.1:${httpPort} and https://localhost:${httpsPort} and tls://127.0.0.1:${natsPort}: is the cluster up?`);
    }, HANG_MS + 5000);

    it('exits 2 and names the flag when a flag is wrong', async () => {
      // GIVEN a misspelt flag, and a timeout that is not a number
      // WHEN the script runs with each
      const [misspelt, badTimeout] = await Promise.all([
        runScript(tmp, ['--nats', healthy.url]),
        runScript(tmp, ['--timeout', 'soon']),
      ]);

      // THEN it says which flag is wrong, shows the usage, and exits 2 without checking anything
      expect(misspelt.output).toContain('✖ unknown flag --nats');
      expect(misspelt.output).toContain('Usage: npm run verify -- [flags]');
      expect(misspelt.output).toContain('--echo-url URL');
      expect(misspelt.code).toBe(2);
      expect(badTimeout.output).toContain("✖ --timeout 'soon' must be a positive number of seconds");
      expect(badTimeout.code).toBe(2);
    });

    it('exits 1 naming the missing files when the keys are not there', async () => {
      // GIVEN a keys folder without certificates
      // WHEN the script runs against it
      const run = await runScript(tmp, ['--keys', join(tmp, 'no-keys'), '--timeout', '1']);

      // THEN it names the CA file and how to create it, and exits 1
      expect(run.output).toContain(`missing ${join(tmp, 'no-keys', 'ca.crt')}`);
      expect(run.output).toContain('npm run synth');
      expect(run.output).not.toMatch(/\n\s+at /);
      expect(run.code).toBe(1);
    });

    it('exits 1 with one line naming the file and the fix when a key file cannot be read', async () => {
      // GIVEN a copy of the keys in which client1.key is a folder (root reads any file, so a mode cannot make it unreadable here)
      const keys = join(tmp, 'keys-unreadable');
      cpSync(pki.paths.dir, keys, { recursive: true });
      rmSync(join(keys, 'client1.key'));
      mkdirSync(join(keys, 'client1.key'));

      // WHEN the script runs with it
      const run = await runScript(tmp, ['--echo-url', echo.url, '--nats-url', healthy.url, '--keys', keys, '--timeout', '2']);

      // THEN one ✖ line names the file, why and what to do, without a stack trace, and it exits 1 before checking anything
      expect(run.output.trim().split('\n').slice(1)).toEqual([
        '✖ cannot read keys-unreadable/client1.key (it is a folder): make it a file you can read, or point --keys (or pki.dir) ' +
        'at the folder holding ca.crt and <identity>.crt/.key; `npm run certs` issues missing keys',
      ]);
      expect(run.code).toBe(1);
    });

    it('exits 1 with one line saying what to do when --keys names a file', async () => {
      // GIVEN a file where the keys folder should be
      writeFileSync(join(tmp, 'keys.txt'), 'not a folder\n');

      // WHEN the script runs with --keys pointing at it
      const run = await runScript(tmp, ['--keys', join(tmp, 'keys.txt'), '--timeout', '1']);

      // THEN it says so in one line and exits 1
      expect(run.output).toContain('✖ keys.txt is a file, not a folder of keys: ' +
        'point --keys (or pki.dir) at the folder holding ca.crt and <identity>.crt/.key\n');
      expect(run.output).not.toContain('missing');
      expect(run.code).toBe(1);
    });
  });

  describe('against a port that is not our NATS', () => {
    /** Runs the script against `server` with a 2 s bound and returns the run after checking it ended in time. */
    async function verifyAgainst(server: FakeServer): Promise<ScriptRun> {
      const run = await runScript(tmp, flagsFor(server.url));
      expect(run.ms).toBeLessThan(2000 + EXIT_SLACK_MS);
      expect(run.code).toBe(1);
      expect(server.connections()).toBeGreaterThan(0);
      return run;
    }

    it('exits within the bound when the port accepts connections and stays silent', async () => {
      // GIVEN a TCP server that accepts and never writes
      const server = await startSilentServer();
      try {
        // WHEN the script runs against it with a 2 s bound
        const run = await verifyAgainst(server);

        // THEN every NATS row says what happened, and the summary says it is not NATS rather than that the cluster is down
        for (const check of NATS_ROWS) {
          expect(rowOf(run.output, check)).toMatch(/^✖ .*no NATS greeting: connected, but the server sent nothing within \d\.\d s {2}/);
        }
        expect(run.output).toContain(`✖ 4 of 6 checks failed: ${NATS_ROWS.join(', ')} — ` +
          `what answers at ${server.url} is not a NATS server: is the port right?`);
        expect(run.output).not.toContain('is the cluster up?');
      } finally {
        await server.close();
      }
    }, HANG_MS + 5000);

    it('exits within the bound when the port starts an INFO line and never ends it', async () => {
      // GIVEN a server that sends `INFO ` and then bytes without end
      const server = await startEndlessInfoServer();
      try {
        // WHEN the script runs against it with a 2 s bound
        const run = await verifyAgainst(server);

        // THEN the rows say it sent a line longer than any NATS greeting
        for (const check of NATS_ROWS) {
          expect(rowOf(run.output, check)).toMatch(/^✖ .*no NATS greeting: the server sent 64 KiB starting "INFO x+\.\.\." without a line end {2}/);
        }
        expect(run.output).toContain(`what answers at ${server.url} is not a NATS server: is the port right?`);
      } finally {
        await server.close();
      }
    }, HANG_MS + 5000);

    it('exits within the bound when the server greets for TLS and never answers the handshake', async () => {
      // GIVEN a server that sends a valid INFO asking for TLS and then nothing
      const server = await startStalledTlsServer();
      try {
        // WHEN the script runs against it with a 2 s bound
        const run = await verifyAgainst(server);

        // THEN the rows say the server stalled after its INFO
        for (const check of NATS_ROWS) {
          expect(rowOf(run.output, check)).toMatch(/^✖ .*the server sent its INFO, then did not finish the TLS handshake and CONNECT within \d\.\d s {2}/);
        }
        expect(run.output).toContain(`the server at ${server.url} greets like NATS but does not finish connecting: look at its logs`);
      } finally {
        await server.close();
      }
    }, HANG_MS + 5000);

    it('leaves nothing open that keeps the process alive, even without the script', async () => {
      // GIVEN a server that stalls mid-handshake
      const server = await startStalledTlsServer();
      try {
        // WHEN runVerify runs in a process of its own, with a 2 s bound
        const flags = { 'echo-url': echo.url, 'https-url': httpsEcho.url, 'nats-url': server.url, timeout: '2' };
        const run = await runVerifyAlone(join(__dirname, '..'), flags, pki.paths.dir);

        // THEN that process ends by itself soon after the bound, with every NATS check reported
        expect(run.ms).toBeLessThan(2000 + EXIT_SLACK_MS);
        expect(run.code).toBe(0);
        const results = byCheck(JSON.parse(run.output.trim().split('\n').pop() ?? '[]') as CheckResult[]);
        for (const check of NATS_ROWS) expect(results[check]?.got).toMatch(/^the server sent its INFO, then did not finish/);
      } finally {
        await server.close();
      }
    }, HANG_MS + 5000);

    it('says the server does not use TLS when a plain nats-server answers', async () => {
      // GIVEN a real nats-server without TLS
      const plain = await startNatsServer({
        config, caFile: pki.paths.caCert, certFile: pki.paths.serverCert, keyFile: pki.paths.serverKey, adjust: withoutTls,
      });
      try {
        // WHEN the script checks it
        const run = await runScript(tmp, flagsFor(plain.url, '5'));

        // THEN each NATS row and the summary name the missing TLS, echo still passes, and nobody asks whether the cluster is up
        for (const check of NATS_ROWS) expect(rowOf(run.output, check)).toMatch(/^✖ .* {2}the server does not use TLS {2}/);
        expect(rowOf(run.output, 'echo')).toMatch(/^✔ /);
        expect(run.output).toContain(`✖ 4 of 6 checks failed: ${NATS_ROWS.join(', ')} — ` +
          `the server at ${plain.url} does not use TLS: is it our deployment? is the port right?`);
        expect(run.output).not.toContain('is the cluster up?');
        expect(run.code).toBe(1);
      } finally {
        await plain.stop();
      }
    });

    it('says the cluster\'s Secret is from another PKI when the server certificate is from another CA', async () => {
      // GIVEN a real nats-server whose certificate comes from another PKI (its own ensurePki folder and CA)
      // WHEN the script checks it with our keys
      const run = await runScript(tmp, flagsFor(admitsClient2.url, '5'));

      // THEN each NATS row names a certificate from another CA than keys/ca.crt, and the summary says what to run
      for (const check of NATS_CHECKS) {
        expect(rowOf(run.output, check)).toMatch(/^✖ .* {2}server certificate from another CA than keys\/ca\.crt \(unable to verify the first certificate\) {2}/);
      }
      expect(rowOf(run.output, 'nats server certificate')).toMatch(/^✖ .* {2}a certificate from another CA than keys\/ca\.crt {2}/);
      expect(run.output).toContain(`✖ 4 of 6 checks failed: ${NATS_ROWS.join(', ')} — the server presents a certificate from another CA: ` +
        "the cluster's Secret is from another PKI — run `npm run synth` and `npx zx scripts/up.mjs`");
      expect(run.output).not.toContain('is the cluster up?');
      expect(run.code).toBe(1);
    });

    it('says the server certificate is not valid when it has expired', async () => {
      // GIVEN a real nats-server whose PKI was issued so long ago that every certificate has expired
      const longAgo = new Date(Date.now() - (config.pki.validityDays + 30) * 24 * 60 * 60 * 1000);
      const expiredConfig = parseConfig({ pki: { dir: 'keys-expired' } });
      const expiredPki = await ensurePki(expiredConfig, { baseDir: tmp, now: longAgo });
      const server = await serverFor(expiredConfig, expiredPki);
      try {
        // WHEN the checks run with those keys
        const options = { ...optionsFor(server.url, 5), keys: expiredPki.paths };
        const results = await runVerify(options);

        // THEN each NATS row says the certificate is not valid and the summary says how to renew it
        for (const check of NATS_CHECKS) {
          expect(byCheck(results)[check]).toMatchObject({ ok: false, got: 'server certificate not valid here (certificate has expired)' });
        }
        expect(summarize(results, options)).toContain(`the server certificate is not valid for ${server.url}: run \`npm run synth\``);
        // AND the warnings say the server's certificate has expired, and how to renew it
        const notAfter = opensslView(expiredPki.paths.serverCert).notAfter;
        expect(certificateWarnings(options)).toContain(`! ${expiredPki.paths.serverCert} expired on ${notAfter}: ` +
          'run `npm run certs -- --renew server`, then `npx zx scripts/up.mjs`');
      } finally {
        await server.stop();
      }
    });
  });

  describe('runVerify', () => {
    it('retries while Traefik answers 404 and passes once the route answers', async () => {
      // GIVEN an echo endpoint that answers 404 three times before http-echo is routed
      const slowEcho = await startEcho(ECHO_TEXT, 3);
      try {
        // WHEN the checks run with a 10 s bound
        const results = byCheck(await runVerify(optionsFor(healthy.url, 10, slowEcho.url)));

        // THEN the echo check passed on the fourth request
        expect(results[`echo ${slowEcho.url}`]).toMatchObject({ ok: true, got: '200 "Hello from echo"' });
        expect(slowEcho.requests()).toBe(4);
      } finally {
        await closeServer(slowEcho.server);
      }
    });

    it('reports which checks are still waiting, and why, while it retries', async () => {
      // GIVEN nothing listening anywhere
      const [httpPort, natsPort] = [await closedPort(), await closedPort()];
      const progress: VerifyProgress[] = [];

      // WHEN the checks run with a 2 s bound and progress every 300 ms
      const options = optionsFor(`tls://127.0.0.1:${natsPort}`, 2, `http://127.0.0.1:${httpPort}`);
      await runVerify(options, () => undefined, { onProgress: (p) => progress.push(p), everyMs: 300 });

      // THEN it heard, more than once, every check waiting with the reason of its last attempt
      expect(progress.length).toBeGreaterThanOrEqual(2);
      const last = progress[progress.length - 1];
      expect(last.waiting).toEqual(expect.arrayContaining([
        { check: `echo http://127.0.0.1:${httpPort}`, target: `echo http://127.0.0.1:${httpPort}`, reason: 'nothing listening (connection refused)' },
        ...NATS_ROWS.map((check) => ({ check, target: `nats tls://127.0.0.1:${natsPort}`, reason: 'nothing listening (connection refused)' })),
      ]));
      expect(formatProgress({ ...last, elapsedMs: 12300 })).toBe(`… 12 s: still waiting for echo http://127.0.0.1:${httpPort} — nothing listening (connection refused); ` +
        `nats tls://127.0.0.1:${natsPort} (4 checks) — nothing listening (connection refused)`);
    });

    it('reads only the start of an endless echo body and reports the mismatch at once', async () => {
      // GIVEN an echo endpoint that answers 200 with a body that never ends
      const endless = await startEndlessHttpServer();
      try {
        // WHEN the checks run with a 5 s bound
        const results = byCheck(await runVerify(optionsFor(healthy.url, 5, endless.url)));

        // THEN the echo check failed on the body's first 4 KiB, long before the bound, and says the body was longer
        expect(results[`echo ${endless.url}`]).toMatchObject({ ok: false, unreachable: false });
        expect(results[`echo ${endless.url}`].got).toMatch(/^200 "x{57}\.\.\." \(more than 4 KiB\)$/);
        expect(results[`echo ${endless.url}`].ms).toBeLessThan(4000);
      } finally {
        await endless.close();
      }
    });

    it('says why fetch failed when it gives no network error', async () => {
      // GIVEN an echo URL on a port fetch refuses to use (port 1 is on its list of bad ports)
      // WHEN the checks run
      const results = byCheck(await runVerify(optionsFor(healthy.url, 5, 'http://127.0.0.1:1')));

      // THEN the echo row carries fetch's reason, not just "fetch failed"
      expect(results['echo http://127.0.0.1:1']).toMatchObject({ ok: false, unreachable: false, got: 'fetch failed (bad port)' });
    });

    it('fails the check without a certificate when the server admits clients without one', async () => {
      // GIVEN a real nats-server with our server certificate, but neither verify_and_map nor users
      const open = await startNatsServer({
        config, caFile: pki.paths.caCert, certFile: pki.paths.serverCert, keyFile: pki.paths.serverKey, adjust: tlsWithoutClientCertificates,
      });
      try {
        // WHEN the checks run
        const results = byCheck(await runVerify(optionsFor(open.url, 5)));

        // THEN the no-certificate row fails with what happened instead of the TLS refusal
        expect(results['nats without client certificate']).toMatchObject({
          ok: false, expected: 'refused by TLS handshake', got: 'admitted: published and received',
        });
      } finally {
        await open.stop();
      }
    });

    it('fails the certificate row, not the run, when a client key does not belong to its certificate', async () => {
      // GIVEN a copy of the keys in which client1.key is client2's key (the served-certificate check presents client1's pair)
      const keys = join(tmp, 'keys-mismatched');
      cpSync(pki.paths.dir, keys, { recursive: true });
      cpSync(join(keys, 'client2.key'), join(keys, 'client1.key'));

      // WHEN the checks run with it and a 2 s bound
      const results = byCheck(await runVerify({ ...optionsFor(healthy.url, 2), keys: pkiFilesIn(keys) }));

      // THEN the certificate row says what is wrong with the key instead of the run rejecting
      expect(results['nats server certificate']).toMatchObject({ ok: false, got: expect.stringMatching(/^error: .*key values mismatch$/) });
    });

    it('counts only the exact Authorization Violation as the refusal of an unauthorized identity', async () => {
      // GIVEN a NATS server (TLS, our certificates) that answers every CONNECT with another authorization error
      const server = await startErrNatsServer({ key: pki.serverKey, cert: pki.serverCert, ca: pki.caCert }, 'Authentication Timeout');
      try {
        // WHEN the checks run
        const results = byCheck(await runVerify(optionsFor(server.url, 5)));

        // THEN client2's row fails and names the server's error, and so does client1's
        expect(results['nats client2 (not authorized)']).toMatchObject({ ok: false, got: "server error: 'Authentication Timeout'" });
        expect(results['nats client1 (authorized)']).toMatchObject({ ok: false, got: "server error: 'Authentication Timeout'" });
        // AND the client without a certificate is still refused by the TLS handshake, as expected
        expect(results['nats without client certificate']).toMatchObject({ ok: true });
      } finally {
        await server.close();
      }
    });
  });

  describe('echo over HTTPS, trusting only keys/ca.crt', () => {
    const httpsRow = (results: readonly CheckResult[], url: string): CheckResult =>
      byCheck(results)[`echo ${url}`] ?? ({ check: `(no row for ${url})` } as CheckResult);

    it('retries while Traefik answers 404, then passes on the certificate our CA issued for echo', async () => {
      // GIVEN an HTTPS server presenting keys/echo.crt that answers 404 twice before the route loads
      const slow = await startHttpsEcho({
        cert: readFileSync(pki.paths.echoCert, 'utf8'), key: readFileSync(pki.paths.echoKey, 'utf8'), text: ECHO_TEXT, notFoundFirst: 2,
      });
      try {
        // WHEN the checks run against it by the name the certificate carries
        const options = { ...optionsFor(healthy.url, 10), httpsUrl: slow.url };
        const row = httpsRow(await runVerify(options), slow.url);

        // THEN the row passes after the retries, saying the answer came over TLS from our CA
        expect(row).toMatchObject({
          expected: '200 "Hello from echo" over TLS from our CA', got: '200 "Hello from echo" over TLS from our CA', ok: true, endpoint: slow.url,
        });
        expect(slow.requests()).toBe(3);
      } finally {
        await slow.close();
      }
    }, 30_000);

    it('reads only the start of an endless HTTPS body and reports the mismatch at once', async () => {
      // GIVEN an HTTPS echo presenting keys/echo.crt that answers 200 with a body that never ends
      const endless = await startHttpsEcho({
        cert: readFileSync(pki.paths.echoCert, 'utf8'), key: readFileSync(pki.paths.echoKey, 'utf8'), text: ECHO_TEXT, endless: true,
      });
      try {
        // WHEN the checks run with a 5 s bound
        const row = httpsRow(await runVerify({ ...optionsFor(healthy.url, 5), httpsUrl: endless.url }), endless.url);

        // THEN the HTTPS row failed on the body's first 4 KiB, long before the bound, and says the body was longer
        expect(row).toMatchObject({ ok: false, unreachable: false });
        expect(row.got).toMatch(/^200 "x{57}\.\.\." \(more than 4 KiB\) over TLS from our CA$/);
        expect(row.ms).toBeLessThan(4000);
      } finally {
        await endless.close();
      }
    }, 30_000);

    it('fails naming another CA when the served certificate is not from keys/ca.crt', async () => {
      // GIVEN an HTTPS server presenting an echo certificate of another PKI (same names, its own CA)
      const foreignEcho = await startHttpsEcho({
        cert: readFileSync(admitsClient2Pki.paths.echoCert, 'utf8'), key: readFileSync(admitsClient2Pki.paths.echoKey, 'utf8'), text: ECHO_TEXT,
      });
      try {
        // WHEN the checks run
        const options = { ...optionsFor(healthy.url, 5), httpsUrl: foreignEcho.url };
        const row = httpsRow(await runVerify(options), foreignEcho.url);

        // THEN the row fails at once, naming the other CA and the Secret to replace
        expect(row.ok).toBe(false);
        expect(row.got).toMatch(/^a certificate from another CA than .*ca\.crt \(CN=k3s-nats-tls echo\)$/);
        expect(row.cause).toBe(`${foreignEcho.url} serves a certificate from another CA: the echo-tls Secret is from another PKI — ` +
          'run `npm run synth` and `npx zx scripts/up.mjs`');
        expect(foreignEcho.requests()).toBe(0);
      } finally {
        await foreignEcho.close();
      }
    }, 30_000);

    it('says Traefik serves its default certificate, retrying until the deadline', async () => {
      // GIVEN an HTTPS server presenting a self-signed certificate like Traefik's default (made by openssl)
      const dir = mkdtempSync(join(tmp, 'traefik-default-'));
      execFileSync('openssl', [
        'req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj', '/CN=TRAEFIK DEFAULT CERT',
        '-addext', 'subjectAltName=DNS:localhost', '-keyout', join(dir, 'tls.key'), '-out', join(dir, 'tls.crt'),
      ], { timeout: 30_000, stdio: ['ignore', 'pipe', 'pipe'] });
      const traefik = await startHttpsEcho({
        cert: readFileSync(join(dir, 'tls.crt'), 'utf8'), key: readFileSync(join(dir, 'tls.key'), 'utf8'), text: ECHO_TEXT,
      });
      try {
        // WHEN the checks run with a 3 s bound
        const options = { ...optionsFor(healthy.url, 3), httpsUrl: traefik.url };
        const row = httpsRow(await runVerify(options), traefik.url);

        // THEN the row fails saying which certificate it got and that the echo-tls Secret is missing
        expect(row.ok).toBe(false);
        expect(row.got).toMatch(/^Traefik's default certificate, not one from .*ca\.crt$/);
        expect(row.cause).toBe('Traefik serves its default certificate: is the echo-tls Secret applied? (npx zx scripts/up.mjs)');
        expect(row.ms).toBeGreaterThanOrEqual(2000);
        expect(traefik.requests()).toBe(0);
      } finally {
        await traefik.close();
      }
    }, 30_000);
  });

  describe('summarize', () => {
    it('names the endpoint that did not answer instead of asking whether the cluster is up when something else answered', async () => {
      // GIVEN http-echo answering, but nothing listening at the NATS port
      const natsUrl = `tls://127.0.0.1:${await closedPort()}`;
      const options = optionsFor(natsUrl, 2);

      // WHEN the checks run and are summarized
      const summary = summarize(await runVerify(options), options);

      // THEN the summary blames the NATS endpoint alone
      expect(summary).toBe(`4 of 6 checks failed: ${NATS_ROWS.join(', ')} — ${natsUrl} did not answer (nothing listening (connection refused)): ` +
        'is that part of the deployment running, and is the port right?');
    });
  });

  describe('identities as policy', () => {
    const SENSOR = {
      name: 'sensor', email: 'sensor@example.com', authorized: true,
      permissions: { publish: { allow: ['sensors.>'], deny: ['sensors.admin.>'] }, subscribe: { allow: ['_INBOX.>'] } },
    };
    const UNRESTRICTED_SENSOR = { name: SENSOR.name, email: SENSOR.email, authorized: true };
    const CLIENT1 = { name: 'client1', email: 'client1@example.com', authorized: true };
    const SENSOR_ROWS = ['nats sensor publish allow sensors.>', 'nats sensor publish deny sensors.admin.>', 'nats sensor subscribe allow _INBOX.>'];
    const DAY_MS = 24 * 60 * 60 * 1000;

    /** A scratch project whose k3s-nats-tls.yaml gives the sensor permissions; its PKI in the default keys/. */
    let project: string;
    let policyConfig: Config;
    let policyPki: PkiResult;
    /** keys/ copied, with server.crt re-issued from the same CA: what `npm run certs -- --renew server` leaves before `up`. */
    let renewedPki: PkiResult;
    /** Issued so long ago that every certificate expires in 10 days, within pki.renewWithinDays (30). */
    let soonConfig: Config;
    let soonPki: PkiResult;
    /** Configured like policyConfig. */
    let policyServer: RunningNatsServer;
    /** The same users and certificates, but the sensor without permissions: allowed everything. */
    let unrestrictedServer: RunningNatsServer;
    /** Configured like policyConfig, presenting the renewed server.crt. */
    let renewedServer: RunningNatsServer;
    let soonServer: RunningNatsServer;
    /** HTTPS echo presenting policyPki's (and so renewedPki's: same CA) and soonPki's echo certificates. */
    let policyHttpsEcho: HttpsEcho;
    let soonHttpsEcho: HttpsEcho;

    beforeAll(async () => {
      project = join(tmp, 'policy-project');
      mkdirSync(project);
      const raw = { pki: { identities: [SENSOR, CLIENT1] } };
      // JSON is YAML: the script reads this as the project's configuration.
      writeFileSync(join(project, 'k3s-nats-tls.yaml'), JSON.stringify(raw));
      policyConfig = parseConfig(raw);
      soonConfig = parseConfig({ pki: { dir: 'keys-soon' } });
      const soonNow = new Date(Date.now() - (soonConfig.pki.validityDays - 10) * DAY_MS);
      [policyPki, soonPki] = await Promise.all([
        ensurePki(policyConfig, { baseDir: project }), ensurePki(soonConfig, { baseDir: tmp, now: soonNow }),
      ]);
      cpSync(policyPki.paths.dir, join(project, 'keys-renewed'), { recursive: true });
      const renewedConfig = parseConfig({ pki: { ...raw.pki, dir: 'keys-renewed' } });
      renewedPki = await ensurePki(renewedConfig, { baseDir: project, renew: ['server'] });
      const unrestricted = parseConfig({ pki: { identities: [UNRESTRICTED_SENSOR, CLIENT1] } });
      [policyServer, unrestrictedServer, renewedServer, soonServer] = await Promise.all([
        serverFor(policyConfig, policyPki), serverFor(unrestricted, policyPki), serverFor(renewedConfig, renewedPki), serverFor(soonConfig, soonPki),
      ]);
      [policyHttpsEcho, soonHttpsEcho] = await Promise.all([httpsEchoFor(policyPki), httpsEchoFor(soonPki)]);
    });

    afterAll(async () => {
      await Promise.all([
        policyServer?.stop(), unrestrictedServer?.stop(), renewedServer?.stop(), soonServer?.stop(), policyHttpsEcho?.close(), soonHttpsEcho?.close(),
      ]);
    });

    /** The reasons progress reported for `check` while it waited. */
    const reasonsFor = (progress: readonly VerifyProgress[], check: string): string[] =>
      [...new Set(progress.flatMap(({ waiting }) => waiting.filter((entry) => entry.check === check).map(({ reason }) => reason)))];

    const policyOptions = (natsUrl: string, timeout: number) =>
      verifyOptions({ _: [], 'echo-url': echo.url, 'https-url': policyHttpsEcho.url, 'nats-url': natsUrl, timeout }, policyConfig, project);

    it('tries every permission rule of an identity, and shows the certificate the server presents', async () => {
      // GIVEN a project whose sensor may publish to sensors.> but not sensors.admin.>, and subscribe to _INBOX.> only,
      // AND a nats-server configured from the same configuration
      // WHEN the script runs in that project
      const run = await runScript(project, [
        '--echo-url', echo.url, '--https-url', policyHttpsEcho.url, '--nats-url', policyServer.url, '--timeout', '10',
      ]);

      // THEN each rule is a row of its own, expected and got in the same words
      expect(rowOf(run.output, SENSOR_ROWS[0])).toMatch(/^✔ nats sensor publish allow sensors\.> +publish to sensors\.verify allowed +publish to sensors\.verify allowed +(\d+ ms|\d+\.\d s)$/);
      expect(rowOf(run.output, SENSOR_ROWS[1])).toMatch(
        /^✔ nats sensor publish deny sensors\.admin\.> +publish to sensors\.admin\.verify refused +publish to sensors\.admin\.verify refused \(Permissions Violation\) +(\d+ ms|\d+\.\d s)$/);
      expect(rowOf(run.output, SENSOR_ROWS[2])).toMatch(/^✔ nats sensor subscribe allow _INBOX\.> +subscribe to _INBOX\.verify allowed +subscribe to _INBOX\.verify allowed +(\d+ ms|\d+\.\d s)$/);
      // AND an identity without permissions keeps its publish-and-receive row, and the sensor has no such row
      expect(rowOf(run.output, 'nats client1 (authorized)')).toMatch(/^✔ .*admitted: publishes and receives\s+admitted: published and received/);
      expect(run.output).not.toContain('nats sensor (authorized)');
      // AND the served certificate is keys/server.crt, its subject, names, expiry and fingerprint printed as openssl reads the file
      const served = opensslView(policyPki.paths.serverCert);
      expect(rowOf(run.output, 'nats server certificate')).toMatch(new RegExp(
        `^✔ nats server certificate +the same as keys/server\\.crt +the same \\(SHA-256 ${served.fingerprint.slice(0, 11)}…\\) +(\\d+ ms|\\d+\\.\\d s)$`));
      expect(run.output).toContain(`\nnats server certificate: subject CN=k3s-nats-tls NATS server; SANs ${served.sans}; ` +
        `not after ${served.notAfter}; SHA-256 ${served.fingerprint}\n`);
      expect(served.sans).toBe('DNS:localhost, DNS:nats, DNS:nats.nats, DNS:nats.nats.svc, DNS:nats.nats.svc.cluster.local, IP Address:127.0.0.1');
      // AND nothing expires soon, every check passed, and it exits 0
      expect(run.output).not.toMatch(/^! /m);
      expect(run.output).toContain('all 8 checks passed');
      expect(run.code).toBe(0);
    });

    it('fails the deny rows when the server lets the identity do everything', async () => {
      // GIVEN a server whose configuration gives the sensor no permissions (same users and certificates)
      // WHEN the checks run with the project's configuration and a 2 s bound
      const options = policyOptions(unrestrictedServer.url, 2);
      const progress: VerifyProgress[] = [];
      const results = await runVerify(options, () => undefined, { onProgress: (p) => progress.push(p), everyMs: 300 });

      // THEN until the bound it waited for a reload, saying which rule is not as configured
      expect(reasonsFor(progress, 'nats sensor (authorized)')).toContain("sensor's permissions not as configured yet: publish deny sensors.admin.>");
      // AND then the deny row fails with what the server did, the allow rows pass, and the summary says to deploy the permissions
      expect(byCheck(results)[SENSOR_ROWS[1]]).toMatchObject({
        ok: false, expected: 'publish to sensors.admin.verify refused', got: 'publish to sensors.admin.verify allowed',
      });
      expect(byCheck(results)[SENSOR_ROWS[0]]).toMatchObject({ ok: true });
      expect(byCheck(results)[SENSOR_ROWS[2]]).toMatchObject({ ok: true });
      expect(summarize(results, options)).toBe(`1 of 8 checks failed: ${SENSOR_ROWS[1]} — ` +
        "the server's permissions for sensor differ from the configuration: run `npx zx scripts/up.mjs` to deploy them");
    });

    it('fails every permission row with the connection\'s own failure, within the bound', async () => {
      // GIVEN a server that greets for TLS and never answers the handshake
      const server = await startStalledTlsServer();
      try {
        // WHEN the checks run with a 2 s bound
        const options = policyOptions(server.url, 2);
        const started = Date.now();
        const results = await runVerify(options);

        // THEN each sensor row says the server stalled, the summary names it, and the run kept to its bound
        for (const check of SENSOR_ROWS) {
          expect(byCheck(results)[check]).toMatchObject({ ok: false, unreachable: false });
          expect(byCheck(results)[check].got).toMatch(/^the server sent its INFO, then did not finish the TLS handshake and CONNECT within \d\.\d s$/);
        }
        expect(summarize(results, options)).toContain(`${SENSOR_ROWS.join(', ')}, nats client1 (authorized), nats without client certificate, ` +
          `nats server certificate — the server at ${server.url} greets like NATS but does not finish connecting: look at its logs`);
        expect(Date.now() - started).toBeLessThan(2000 + EXIT_SLACK_MS);
      } finally {
        await server.close();
      }
    });

    it('fails the permission rows within the bound when the server stops answering after admitting the identity', async () => {
      // GIVEN a server that admits the sensor, then never answers again
      const server = await startMuteAfterConnectServer({ key: policyPki.serverKey, cert: policyPki.serverCert, ca: policyPki.caCert });
      try {
        // WHEN the checks run with a 2 s bound
        const started = Date.now();
        const results = byCheck(await runVerify(policyOptions(server.url, 2)));

        // THEN each sensor row says so instead of waiting for an answer, and the run kept to its bound
        for (const check of SENSOR_ROWS) expect(results[check].got).toMatch(/^connected, then the server did not answer within \d\.\d s$/);
        expect(Date.now() - started).toBeLessThan(2000 + EXIT_SLACK_MS);
      } finally {
        await server.close();
      }
    });

    it('says to run up when the cluster serves another certificate than keys/server.crt', async () => {
      // GIVEN keys whose server.crt was renewed (same CA, same client certificates), and a server still presenting the old one
      // WHEN the checks run with the renewed keys and a 2 s bound
      const options = { ...policyOptions(policyServer.url, 2), keys: renewedPki.paths };
      const progress: VerifyProgress[] = [];
      const results = await runVerify(options, () => undefined, { onProgress: (p) => progress.push(p), everyMs: 300 });

      // THEN until the bound it waited for a reload
      expect(reasonsFor(progress, 'nats server certificate'))
        .toContain(`the server still presents another certificate than ${renewedPki.paths.serverCert}`);
      // AND then only the certificate row fails, saying to run up, with both fingerprints under the table
      const row = byCheck(results)['nats server certificate'];
      expect(row).toMatchObject({ ok: false, got: 'the cluster still serves an older certificate: run up (npx zx scripts/up.mjs)' });
      expect(row.detail).toContain(`SHA-256 ${opensslView(policyPki.paths.serverCert).fingerprint}; `);
      expect(row.detail).toMatch(new RegExp(`keys-renewed/server\\.crt has SHA-256 ${opensslView(renewedPki.paths.serverCert).fingerprint}$`));
      expect(summarize(results, options)).toBe('1 of 8 checks failed: nats server certificate — the cluster still serves an older certificate: ' +
        `run up (\`npx zx scripts/up.mjs\`) so that it presents ${join(renewedPki.paths.dir, 'server.crt')}`);
    });

    it('passes once the cluster has reloaded the certificate and permissions that up applied', async () => {
      // GIVEN one address that leads to a server with the old certificate and no permissions for the sensor…
      let reloaded = false;
      const address = await startForwarder(() => (reloaded ? renewedServer.port : unrestrictedServer.port));
      try {
        // WHEN the checks run with the renewed keys, and the server "reloads" once both checks are seen waiting for it
        const options = { ...policyOptions(address.url, 20), keys: renewedPki.paths };
        const waitingFor = (p: VerifyProgress, check: string) => p.waiting.some((entry) => entry.check === check && / yet|still presents/.test(entry.reason));
        const onProgress = (p: VerifyProgress) => {
          reloaded ||= waitingFor(p, 'nats server certificate') && waitingFor(p, 'nats sensor (authorized)');
        };
        const results = await runVerify(options, () => undefined, { onProgress, everyMs: 200 });

        // THEN …every check passed after the reload, well before the bound
        expect(reloaded).toBe(true);
        expect(results.filter((result) => !result.ok)).toEqual([]);
        expect(byCheck(results)['nats server certificate'].ms).toBeLessThan(15000);
      } finally {
        await address.close();
      }
    });

    it('warns about certificates that expire within pki.renewWithinDays, without failing', async () => {
      // GIVEN keys issued so long ago that they expire in 10 days (renewWithinDays: 30), served by a nats-server
      // WHEN the script checks it
      const run = await runScript(tmp, [
        '--echo-url', echo.url, '--https-url', soonHttpsEcho.url, '--nats-url', soonServer.url, '--keys', soonPki.paths.dir, '--timeout', '10',
      ]);

      // THEN a ! line names each certificate, its date and the command that renews it
      const within = '(within pki.renewWithinDays, 30 days)';
      const until = (name: string) => opensslView(join(soonPki.paths.dir, `${name}.crt`)).notAfter;
      const warnings = run.output.split('\n').filter((line) => line.startsWith('! '));
      expect(warnings).toEqual([
        `! keys-soon/ca.crt expires on ${until('ca')} ${within}: ` +
          'run `npm run certs -- --force` (a new CA: every client then needs its new certificate)',
        `! keys-soon/server.crt expires on ${until('server')} ${within}: run \`npm run certs -- --renew server\`, then \`npx zx scripts/up.mjs\``,
        `! keys-soon/client1.crt expires on ${until('client1')} ${within}: run \`npm run certs -- --renew client1\``,
        `! keys-soon/client2.crt expires on ${until('client2')} ${within}: run \`npm run certs -- --renew client2\``,
      ]);
      // AND every check still passed, and it exits 0
      expect(run.output).toContain('all 6 checks passed');
      expect(run.code).toBe(0);
    });
  });

  describe('verifyOptions', () => {
    it('derives every default from the configuration', () => {
      // GIVEN no flags WHEN options are built for the default configuration in /project
      const options = verifyOptions({ _: [] }, parseConfig({}), '/project');

      // THEN they point where the k3d port mappings and pki.dir say
      expect(options).toMatchObject({
        echoUrl: 'http://localhost:8080', natsUrl: 'tls://localhost:4222', echoText: 'Hello from echo', timeoutMs: 60000, renewWithinDays: 30,
        httpsUrl: 'https://localhost:8443', echoTlsSecret: 'echo-tls', replicas: 1, jetstream: false, natsServers: ['nats-0'], natsNamespace: 'nats',
      });
      // AND a cluster's servers are named as the chart names its pods: after the StatefulSet, <fullname>-<i>
      expect(verifyOptions({ _: [] }, parseConfig({ nats: { release: 'bus', namespace: 'msg', replicas: 3 } })))
        .toMatchObject({ natsServers: ['bus-nats-0', 'bus-nats-1', 'bus-nats-2'], natsNamespace: 'msg' });
      expect(options.keys.caCert).toBe('/project/keys/ca.crt');
      expect(options.keys.identityKey('client2')).toBe('/project/keys/client2.key');
      expect(options.identities.map((identity) => identity.name)).toEqual(['client1', 'client2']);
    });

    it.each([
      [{ 'echo-url': true }, '--echo-url needs exactly one value'],
      [{ 'nats-url': 'localhost:4222' }, "--nats-url 'localhost:4222' must be a tls: or nats://host:port URL"],
      [{ 'echo-url': 'ftp://localhost' }, "--echo-url 'ftp://localhost' must be a http: or https://host:port URL"],
      [{ timeout: 0 }, "--timeout '0' must be a positive number of seconds"],
      [{ 'https-url': 'http://localhost:8443' }, "--https-url 'http://localhost:8443' must be a https://host:port URL"],
      [{ keys: ['a', 'b'] }, '--keys needs exactly one value'],
      [{ identity: ['client1', 'laptop'] }, "--identity 'laptop': not in pki.identities (known: client1, client2): name an identity of the configuration, or add it to pki.identities"],
      [{ identity: [true] }, '--identity needs a name'],
    ])('rejects %j', (flags, message) => {
      // GIVEN a bad flag WHEN options are built THEN a UsageError names it
      const build = () => verifyOptions({ _: [], ...flags }, parseConfig({}));
      expect(build).toThrow(UsageError);
      expect(build).toThrow(message);
    });
  });

  describe('--identity', () => {
    it('keeps only the identities named, in the configuration\'s order, each once', () => {
      // GIVEN three identities WHEN options are built naming two of them (one twice), or none
      const three = parseConfig({ pki: { identities: [...parseConfig({}).pki.identities, { name: 'laptop', email: 'laptop@example.com', authorized: true }] } });
      const names = (flags: object) => verifyOptions({ _: [], ...flags }, three).identities.map(({ name }) => name);

      // THEN those are the identities verify connects as; without the flag, all of them
      expect(names({ identity: ['laptop', 'client1', 'laptop'] })).toEqual(['client1', 'laptop']);
      expect(names({ identity: 'client2' })).toEqual(['client2']);
      expect(names({})).toEqual(['client1', 'client2', 'laptop']);
    });
  });

  describe('bounded', () => {
    it('runs at most the limit at once, starting the rest in order as earlier ones settle, failures included', async () => {
      // GIVEN tasks that wait until released, one of which rejects
      const run = bounded(3);
      let running = 0;
      let most = 0;
      const started: number[] = [];
      const releases: Array<() => void> = [];
      const task = (i: number) => () => new Promise<number>((resolve, reject) => {
        started.push(i);
        running += 1;
        most = Math.max(most, running);
        releases[i] = () => {
          running -= 1;
          if (i === 1) reject(new Error('task 1'));
          else resolve(i);
        };
      });
      const settle = () => new Promise((resolve) => setImmediate(resolve));

      // WHEN seven are handed in and released one by one
      const results = Array.from({ length: 7 }, (_, i) => run(task(i)).catch((error: Error) => error.message));
      await settle();
      expect(started).toEqual([0, 1, 2]);
      for (let i = 0; i < 7; i++) {
        releases[i]();
        await settle();
      }

      // THEN never more than three ran, each started in turn, and each settled with its own outcome
      expect(most).toBe(3);
      expect(started).toEqual([0, 1, 2, 3, 4, 5, 6]);
      expect(await Promise.all(results)).toEqual([0, 'task 1', 2, 3, 4, 5, 6]);
    });
  });

  describe('formatTable', () => {
    it('aligns check, expected, got and time, marking each row', () => {
      // GIVEN one passing and one failing result WHEN formatted
      const table = formatTable([
        { check: 'echo x', endpoint: 'http://x', expected: '200 "a"', got: '200 "a"', ok: true, unreachable: false, ms: 12 },
        { check: 'nats client2', endpoint: 'tls://x', expected: 'refused', got: 'admitted', ok: false, unreachable: false, ms: 1500 },
      ]);

      // THEN the columns line up under the header
      expect(table.split('\n')).toEqual([
        '  check         expected  got       time',
        '✔ echo x        200 "a"   200 "a"   12 ms',
        '✖ nats client2  refused   admitted  1.5 s',
      ]);
    });
  });
});
