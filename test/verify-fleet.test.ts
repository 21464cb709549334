import { execFile } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import type { Config } from '../lib/config/config';
import type { PkiResult } from '../lib/pki/pki';
import { NATS_CHECKS_AT_ONCE } from '../lib/verify/nats-identities';
import { TABLE_IDENTITY_LIMIT } from '../lib/verify/report';
import { startHttpsEcho, type HttpsEcho } from './support/fake-servers';
import { fleetConfig, issueFleetPki } from './support/fleet';
import { startNatsServer, type RunningNatsServer } from './support/nats-server';
import type { NatsServerConfig } from './support/nats-server-config';

/**
 * `npm run verify` for a fleet: a few hundred identities, each with its own permissions, against a
 * real nats-server 2.14.2. The thousand of the issue are measured outside jest (README, Verify).
 */

const SIZE = 300;
const SCRIPT = join(__dirname, '..', 'scripts', 'verify.mjs');
/** Past this a run counts as hung and is killed, so a hang fails the test instead of timing it out. */
const HANG_MS = 90_000;

interface ScriptRun {
  readonly code: number;
  readonly output: string;
}

/** The connections verify may hold at once: each check's greeting or client, the served-certificate check, and the server noticing closes late. */
const CONNECTIONS_AT_ONCE = 3 * NATS_CHECKS_AT_ONCE;

/** The server as the chart configures it, but taking at most CONNECTIONS_AT_ONCE clients at a time: verify must stay under it. */
const limited = (settings: NatsServerConfig): object => ({ ...settings, max_connections: CONNECTIONS_AT_ONCE });

/**
 * As a server whose configuration is not yet what k3s-nats-tls.yaml says: dev5 (authorized) is no
 * user, dev7 has no permissions (so it may do everything), and dev9 (not authorized) is a user.
 */
const stale = (settings: NatsServerConfig): object => {
  const users = settings.authorization.users.filter(({ user }) => user !== 'dev5@example.com')
    .map((user) => (user.user === 'dev7@example.com' ? { user: user.user } : user));
  return { ...limited(settings), authorization: { ...settings.authorization, users: [...users, { user: 'dev9@example.com' }] } };
};

describe(`npm run verify with ${SIZE} identities`, () => {
  let project: string;
  let config: Config;
  let pki: PkiResult;
  let healthy: RunningNatsServer;
  let stalled: RunningNatsServer;
  let echo: Server;
  let echoUrl: string;
  let httpsEcho: HttpsEcho;

  beforeAll(async () => {
    // One PKI for the file: the fleet's certificates share one key (test/support/fleet.ts).
    project = mkdtempSync(join(tmpdir(), 'verify-fleet-'));
    config = fleetConfig(SIZE);
    writeFileSync(join(project, 'k3s-nats-tls.yaml'), stringify({ pki: { identities: config.pki.identities } }));
    pki = await issueFleetPki(config, project);
    const serverFor = (adjust: (settings: NatsServerConfig) => object) =>
      startNatsServer({ config, caFile: pki.paths.caCert, certFile: pki.paths.serverCert, keyFile: pki.paths.serverKey, adjust });
    echo = createServer((_request, response) => response.writeHead(200, { 'content-type': 'text/plain' }).end(`${config.echo.text}\n`));
    [healthy, stalled, httpsEcho] = await Promise.all([
      serverFor(limited), serverFor(stale),
      startHttpsEcho({ cert: readFileSync(pki.paths.echoCert, 'utf8'), key: readFileSync(pki.paths.echoKey, 'utf8'), text: config.echo.text }),
      new Promise<void>((resolve) => echo.listen(0, '127.0.0.1', resolve)),
    ]);
    echoUrl = `http://127.0.0.1:${(echo.address() as AddressInfo).port}`;
  }, 120_000);

  afterAll(async () => {
    await Promise.all([healthy?.stop(), stalled?.stop(), httpsEcho?.close()]);
    await new Promise((resolve) => (echo ? echo.close(resolve) : resolve(undefined)));
    rmSync(project, { recursive: true, force: true });
  });

  /** scripts/verify.mjs in the fleet's project (its k3s-nats-tls.yaml), against `server`. */
  function verify(server: RunningNatsServer, args: readonly string[] = [], timeout = '60'): Promise<ScriptRun> {
    const env: NodeJS.ProcessEnv = { ...process.env, FORCE_COLOR: '0' };
    delete env.K3S_NATS_TLS_CONFIG;
    const argv = [SCRIPT, '--echo-url', echoUrl, '--https-url', httpsEcho.url, '--nats-url', server.url, '--timeout', timeout, ...args];
    return new Promise((resolve) => {
      execFile(process.execPath, argv, { cwd: project, env, timeout: HANG_MS, killSignal: 'SIGKILL', maxBuffer: 16 << 20 }, (error, stdout, stderr) => {
        resolve({ code: error ? (typeof error.code === 'number' ? error.code : -1) : 0, output: stdout + stderr });
      });
    });
  }

  const rowsAbout = (output: string, name: string): string[] =>
    output.split('\n').filter((line) => new RegExp(`^[✔✖] nats ${name}[ :]`).test(line) && / {2}(\d+ ms|\d+\.\d s)$/.test(line));

  it('counts the identities per kind instead of a row each, and admits and refuses every one as configured', async () => {
    // GIVEN a healthy server that takes only CONNECTIONS_AT_ONCE clients at a time
    // WHEN verify runs
    const run = await verify(healthy);

    // THEN it exits 0, and the server never had to turn a client away: the checks ran a bounded number at a time
    expect(run.code).toBe(0);
    expect(healthy.logs()).not.toMatch(/maximum connections exceeded/i);
    // AND the table keeps the rows that are not about one identity, and no identity has a row or a line of its own
    expect(run.output).toMatch(/^✔ nats without client certificate +refused by TLS handshake +refused by TLS handshake/m);
    expect(run.output).toMatch(/^✔ nats server certificate +the same as keys\/server\.crt/m);
    expect(run.output).not.toMatch(/^[✔✖] nats dev\d/m);
    // AND each kind is one line: every tenth identity is not authorized, each has one publish allow and deny and two subscribe allows
    expect(run.output).toContain([
      `${SIZE} identities, counted per kind (every failure is a row above):`,
      '✔ 270 authorized identities admitted, 0 refused',
      '✔ 30 identities not authorized refused, 0 admitted',
      '✔ 270 publish allow rules answered as configured, 0 not',
      '✔ 270 publish deny rules answered as configured, 0 not',
      '✔ 540 subscribe allow rules answered as configured, 0 not',
    ].join('\n'));
    expect(run.output).toMatch(/^✔ all 1,114 checks passed: the deployment behaves as configured$/m);
  }, HANG_MS + 10_000);

  it('lists every failure in full, and counts the rest, when the server is not configured as the fleet says', async () => {
    // GIVEN a server without dev5, with dev7 allowed everything, and admitting dev9
    // WHEN verify runs (it waits until its bound for a reload of dev7's permissions that does not come)
    const run = await verify(stalled, [], '20');

    // THEN it exits 1, and each failed row is in the table in full
    expect(run.code).toBe(1);
    expect(rowsAbout(run.output, 'dev5')).toEqual([
      expect.stringMatching(/^✖ nats dev5 publish allow devices\.dev5\.> +publish to devices\.dev5\.verify allowed +refused: Authorization Violation /),
      expect.stringMatching(/^✖ nats dev5 publish deny devices\.dev5\.admin\.> +publish to devices\.dev5\.admin\.verify refused +refused: Authorization Violation /),
      expect.stringMatching(/^✖ nats dev5 subscribe allow cmd\.dev5\.> +subscribe to cmd\.dev5\.verify allowed +refused: Authorization Violation /),
      expect.stringMatching(/^✖ nats dev5 subscribe allow _INBOX\.> +subscribe to _INBOX\.verify allowed +refused: Authorization Violation /),
    ]);
    expect(rowsAbout(run.output, 'dev7')).toEqual([
      expect.stringMatching(/^✖ nats dev7 publish deny devices\.dev7\.admin\.> +publish to devices\.dev7\.admin\.verify refused +publish to devices\.dev7\.admin\.verify allowed /),
    ]);
    expect(rowsAbout(run.output, 'dev9')).toEqual([
      expect.stringMatching(/^✖ nats dev9 \(not authorized\) +refused: Authorization Violation +admitted: published and received /),
    ]);
    // AND no identity that passed has a row, and the counts say what the rows show
    expect(run.output.split('\n').filter((line) => /^[✔✖] nats dev\d/.test(line) && / {2}(\d+ ms|\d+\.\d s)$/.test(line))).toHaveLength(6);
    expect(run.output).toContain([
      '✖ 269 authorized identities admitted, 1 refused',
      '✖ 29 identities not authorized refused, 1 admitted',
      '✖ 269 publish allow rules answered as configured, 1 not',
      '✖ 268 publish deny rules answered as configured, 2 not',
      '✖ 538 subscribe allow rules answered as configured, 2 not',
    ].join('\n'));
    // AND the summary names the failures with their fix
    expect(run.output).toMatch(/^✖ 6 of 1,114 checks failed: .*nats dev7 publish deny devices\.dev7\.admin\.> — the server's permissions for dev7 differ/m);
  }, HANG_MS + 10_000);

  it('does not start checks whose turn comes after the deadline, and says to pass a longer --timeout', async () => {
    // GIVEN a bound that has passed before the first identity's turn
    // WHEN verify runs
    const run = await verify(healthy, [], '0.001');

    // THEN it exits 1 at once, counting every identity as failed, and the summary says what to do
    expect(run.code).toBe(1);
    expect(run.output).toContain('✖ 0 authorized identities admitted, 0 refused, 270 failed otherwise');
    expect(run.output).toMatch(new RegExp(`^✖ nats dev0 publish allow devices\\.dev0\\.> .* not tried: the 0\\.001 s of --timeout ran out before its turn \\(${NATS_CHECKS_AT_ONCE} identities at a time\\) `, 'm'));
    expect(run.output).toContain(`${SIZE} identities, ${NATS_CHECKS_AT_ONCE} at a time, did not fit in --timeout 0.001: ` +
      'unless the other failures explain the wait, pass a longer --timeout or check fewer with --identity');
  }, HANG_MS + 10_000);

  it('checks only the identities --identity names, row by row, with a keys folder holding only theirs', async () => {
    // GIVEN a keys folder with the CA and two identities' files only
    const keys = join(project, 'two-keys');
    mkdirSync(keys, { mode: 0o700 });
    for (const file of [pki.paths.caCert, ...['dev3', 'dev299'].flatMap((name) => [pki.paths.identityCert(name), pki.paths.identityKey(name)])]) {
      copyFileSync(file, join(keys, file.split('/').pop()!));
    }

    // WHEN verify runs for dev299 and dev3 (two: under TABLE_IDENTITY_LIMIT) with it
    const run = await verify(healthy, ['--identity', 'dev299', '--identity', 'dev3', '--keys', keys]);

    // THEN it exits 0 with their rows, in the configuration's order, and no one else's and no counts
    expect(run.code).toBe(0);
    expect(2).toBeLessThanOrEqual(TABLE_IDENTITY_LIMIT);
    const rows = run.output.split('\n').filter((line) => /^[✔✖] nats dev\d/.test(line) && / {2}(\d+ ms|\d+\.\d s)$/.test(line));
    expect(rows).toEqual([
      expect.stringMatching(/^✔ nats dev3 publish allow devices\.dev3\.> /),
      expect.stringMatching(/^✔ nats dev3 publish deny devices\.dev3\.admin\.> /),
      expect.stringMatching(/^✔ nats dev3 subscribe allow cmd\.dev3\.> /),
      expect.stringMatching(/^✔ nats dev3 subscribe allow _INBOX\.> /),
      expect.stringMatching(/^✔ nats dev299 \(not authorized\) +refused: Authorization Violation +refused: Authorization Violation /),
    ]);
    expect(run.output).not.toMatch(/counted per kind/);
    expect(run.output).toMatch(/^✔ all 9 checks passed/m);
  }, HANG_MS + 10_000);

  it('exits 2 with one line naming the flag, some known names and the fix when --identity names no identity', async () => {
    // GIVEN a name that is not in pki.identities WHEN verify runs with it
    const run = await verify(healthy, ['--identity', 'dev3', '--identity', 'laptop']);

    // THEN it exits 2 and the first line says what is wrong and what to do, before the help
    expect(run.code).toBe(2);
    expect(run.output.split('\n')[0]).toBe("✖ --identity 'laptop': not in pki.identities (known: dev0, dev1, dev2, dev3, dev4, dev5, dev6, dev7, dev8, dev9 " +
      `and ${SIZE - 10} more): name an identity of the configuration, or add it to pki.identities`);
    expect(run.output).toContain('--identity NAME');
  }, HANG_MS + 10_000);
});
