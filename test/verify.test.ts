import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseConfig, type Config } from '../lib/config';
import { ensurePki, type PkiResult } from '../lib/pki';
import { formatTable, runVerify, UsageError, verifyOptions, type CheckResult } from '../lib/verify';
import { startNatsServer, type RunningNatsServer } from './support/nats-server';

const SCRIPT = join(__dirname, '..', 'scripts', 'verify.mjs');
const ECHO_TEXT = parseConfig({}).echo.text;

interface ScriptRun {
  readonly code: number;
  readonly output: string;
  readonly ms: number;
}

/** Runs scripts/verify.mjs as `up.mjs` will, in a folder without a k3s-nats-tls.yaml, so the defaults apply. */
function runScript(cwd: string, args: string[]): Promise<ScriptRun> {
  const env: NodeJS.ProcessEnv = { ...process.env, FORCE_COLOR: '0' };
  delete env.K3S_NATS_TLS_CONFIG;
  const started = Date.now();
  return new Promise((resolve) => {
    execFile(process.execPath, [SCRIPT, ...args], { cwd, env }, (error, stdout, stderr) => {
      const code = error ? (typeof error.code === 'number' ? error.code : -1) : 0;
      resolve({ code, output: stdout + stderr, ms: Date.now() - started });
    });
  });
}

/** The table row (or progress line) for one check. */
const rowOf = (output: string, check: string): string =>
  output.split('\n').find((line) => line.includes(`${check} `) && / ms| s$/.test(line)) ?? `(no row for ${check} in:\n${output})`;

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

const closeServer = (server: Server): Promise<void> => new Promise((resolve) => server.close(() => resolve()));

/** A loopback port nothing listens on (it was free a moment ago). */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await closeServer(server);
  return port;
}

const serverFor = (config: Config, pki: PkiResult): Promise<RunningNatsServer> =>
  startNatsServer({ config, caFile: pki.paths.caCert, certFile: pki.paths.serverCert, keyFile: pki.paths.serverKey });

const byCheck = (results: readonly CheckResult[]) => Object.fromEntries(results.map((r) => [r.check, r]));

describe('npm run verify', () => {
  let tmp: string;
  let config: Config;
  let pki: PkiResult;
  /** The same names, but the server's authorization also lists client2 — as stale Helm values would. */
  let admitsClient2Config: Config;
  let admitsClient2Pki: PkiResult;
  let healthy: RunningNatsServer;
  let admitsClient2: RunningNatsServer;
  let echo: Awaited<ReturnType<typeof startEcho>>;
  let wrongEcho: Awaited<ReturnType<typeof startEcho>>;

  beforeAll(async () => {
    tmp = mkdtempSync(join(tmpdir(), 'verify-'));
    config = parseConfig({ pki: { dir: join(tmp, 'keys') } });
    admitsClient2Config = parseConfig({
      pki: {
        dir: join(tmp, 'keys-admits-client2'),
        identities: [
          { name: 'client1', email: 'client1@example.com', authorized: true },
          { name: 'client2', email: 'client2@example.com', authorized: true },
        ],
      },
    });
    [pki, admitsClient2Pki] = await Promise.all([ensurePki(config), ensurePki(admitsClient2Config)]);
    [healthy, admitsClient2, echo, wrongEcho] = await Promise.all([
      serverFor(config, pki),
      serverFor(admitsClient2Config, admitsClient2Pki),
      startEcho(ECHO_TEXT),
      startEcho('Hello from somewhere else'),
    ]);
  });

  afterAll(async () => {
    await Promise.all([healthy?.stop(), admitsClient2?.stop()]);
    await Promise.all([echo, wrongEcho].filter(Boolean).map(({ server }) => closeServer(server)));
    rmSync(tmp, { recursive: true, force: true });
  });

  describe('the script', () => {
    it('exits 0 and prints a table of matching checks when the deployment is healthy', async () => {
      // GIVEN http-echo answering the configured text and a nats-server configured like the chart
      // WHEN the script runs with the flags up.mjs passes
      const run = await runScript(tmp, ['--echo-url', echo.url, '--nats-url', healthy.url, '--keys', pki.paths.dir, '--timeout', '10']);

      // THEN every check matched, the table shows expected and got, and it exits 0
      expect(run.output).toMatch(/check\s+expected\s+got\s+time/);
      expect(rowOf(run.output, 'echo')).toMatch(/^✔ echo http:\/\/127\.0\.0\.1:\d+\s+200 "Hello from echo"\s+200 "Hello from echo"\s+\d+ ms$/);
      expect(rowOf(run.output, 'nats client1 (authorized)')).toMatch(/^✔ .*admitted: publishes and receives\s+admitted: published and received/);
      expect(rowOf(run.output, 'nats client2 (not authorized)')).toMatch(/^✔ .*refused: Authorization Violation\s+refused: Authorization Violation/);
      expect(rowOf(run.output, 'nats without client certificate')).toMatch(/^✔ .*refused by TLS handshake\s+refused by TLS handshake \(alert bad certificate\)/);
      expect(run.output).toContain('all 4 checks passed');
      expect(run.code).toBe(0);
    });

    it('exits 1 naming client2 when the server admits an identity that must be refused', async () => {
      // GIVEN a server whose authorization also lists client2 (certificates from the same names)
      // WHEN the script checks it against the default configuration, where client2 is not authorized
      const run = await runScript(tmp, ['--echo-url', echo.url, '--nats-url', admitsClient2.url, '--keys', admitsClient2Pki.paths.dir, '--timeout', '10']);

      // THEN the client2 row fails with what happened, the others still pass, and it exits 1
      expect(rowOf(run.output, 'nats client2 (not authorized)')).toMatch(/^✖ .*refused: Authorization Violation\s+admitted: published and received/);
      expect(rowOf(run.output, 'nats client1 (authorized)')).toMatch(/^✔ /);
      expect(run.output).toContain('1 of 4 checks failed: nats client2 (not authorized)');
      expect(run.code).toBe(1);
    });

    it('exits 1 when http-echo answers another text', async () => {
      // GIVEN an echo endpoint answering 200 with the wrong text
      // WHEN the script runs
      const run = await runScript(tmp, ['--echo-url', wrongEcho.url, '--nats-url', healthy.url, '--keys', pki.paths.dir, '--timeout', '10']);

      // THEN the echo row shows both texts and it exits 1 without waiting for the timeout
      expect(rowOf(run.output, 'echo')).toMatch(/^✖ echo .*200 "Hello from echo"\s+200 "Hello from somewhere else"/);
      expect(run.output).toContain('1 of 4 checks failed: echo');
      expect(run.code).toBe(1);
      expect(run.ms).toBeLessThan(8000);
    });

    it('exits 1 with a clear message within the bound when nothing listens', async () => {
      // GIVEN two loopback ports nothing listens on
      const [httpPort, natsPort] = [await closedPort(), await closedPort()];

      // WHEN the script runs with a 2 s bound
      const run = await runScript(tmp, [
        '--echo-url', `http://127.0.0.1:${httpPort}`, '--nats-url', `tls://127.0.0.1:${natsPort}`, '--keys', pki.paths.dir, '--timeout', '2',
      ]);

      // THEN it retried for about the bound (not forever), every row says nothing listens, and it exits 1
      expect(run.code).toBe(1);
      expect(run.ms).toBeGreaterThanOrEqual(1500);
      expect(run.ms).toBeLessThan(2000 + 4000); // the bound plus node start-up
      for (const check of ['echo', 'nats client1 (authorized)', 'nats client2 (not authorized)', 'nats without client certificate']) {
        expect(rowOf(run.output, check)).toMatch(/^✖ .*nothing listening \(connection refused\)/);
      }
      expect(run.output).toContain(`nothing answered within 2 s at http://127.0.0.1:${httpPort} and tls://127.0.0.1:${natsPort}: is the cluster up?`);
    });

    it('exits 2 and names the flag when a flag is wrong', async () => {
      // GIVEN a misspelt flag, and a timeout that is not a number
      // WHEN the script runs with each
      const [misspelt, badTimeout] = await Promise.all([
        runScript(tmp, ['--nats', healthy.url]),
        runScript(tmp, ['--timeout', 'soon']),
      ]);

      // THEN it says which flag is wrong, shows the usage, and exits 2 without checking anything
      expect(misspelt.output).toContain('✖ unknown flag(s) --nats');
      expect(misspelt.output).toContain('Usage: npm run verify -- [--echo-url URL]');
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
  });

  describe('runVerify', () => {
    it('retries while Traefik answers 404 and passes once the route answers', async () => {
      // GIVEN an echo endpoint that answers 404 three times before http-echo is routed
      const slowEcho = await startEcho(ECHO_TEXT, 3);
      try {
        // WHEN the checks run with a 10 s bound
        const options = { ...verifyOptions({ _: [], 'echo-url': slowEcho.url, 'nats-url': healthy.url, timeout: 10 }, config), keys: pki.paths };
        const results = byCheck(await runVerify(options));

        // THEN the echo check passed on the fourth request
        expect(results[`echo ${slowEcho.url}`]).toMatchObject({ ok: true, got: '200 "Hello from echo"' });
        expect(slowEcho.requests()).toBe(4);
      } finally {
        await closeServer(slowEcho.server);
      }
    });

    it('fails every identity by name with a TLS error when the server certificate is not from our CA', async () => {
      // GIVEN the healthy server, but the keys (CA included) of another PKI
      const options = { ...verifyOptions({ _: [], 'echo-url': echo.url, 'nats-url': healthy.url, timeout: 5 }, config), keys: admitsClient2Pki.paths };

      // WHEN the checks run
      const results = byCheck(await runVerify(options));

      // THEN no NATS check passes: a TLS error is not the refusal (or admission) that was expected
      for (const check of ['nats client1 (authorized)', 'nats client2 (not authorized)', 'nats without client certificate']) {
        expect(results[check]).toMatchObject({ ok: false, unreachable: false });
        expect(results[check].got).toMatch(/^TLS error: server certificate not trusted/);
      }
      expect(results[`echo ${echo.url}`].ok).toBe(true);
    });
  });

  describe('verifyOptions', () => {
    it('derives every default from the configuration', () => {
      // GIVEN no flags WHEN options are built for the default configuration in /project
      const options = verifyOptions({ _: [] }, parseConfig({}), '/project');

      // THEN they point where the k3d port mappings and pki.dir say
      expect(options).toMatchObject({
        echoUrl: 'http://localhost:8080', natsUrl: 'tls://localhost:4222', echoText: 'Hello from echo', timeoutMs: 60000,
      });
      expect(options.keys.caCert).toBe('/project/keys/ca.crt');
      expect(options.keys.identityKey('client2')).toBe('/project/keys/client2.key');
      expect(options.identities.map((identity) => identity.name)).toEqual(['client1', 'client2']);
    });

    it.each([
      [{ 'echo-url': true }, '--echo-url needs exactly one value'],
      [{ 'nats-url': 'localhost:4222' }, "--nats-url 'localhost:4222' must be a tls: or nats://host:port URL"],
      [{ 'echo-url': 'ftp://localhost' }, "--echo-url 'ftp://localhost' must be a http: or https://host:port URL"],
      [{ timeout: 0 }, "--timeout '0' must be a positive number of seconds"],
      [{ keys: ['a', 'b'] }, '--keys needs exactly one value'],
      [{ _: ['keys'] }, "unexpected argument(s) 'keys'"],
    ])('rejects %j', (flags, message) => {
      // GIVEN a bad flag WHEN options are built THEN a UsageError names it
      const build = () => verifyOptions({ _: [], ...flags }, parseConfig({}));
      expect(build).toThrow(UsageError);
      expect(build).toThrow(message);
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
