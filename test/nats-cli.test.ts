import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseConfig, type Config } from '../lib/config/config';
import { runCommand } from '../lib/deploy/run-command';
import { natsClientCommands } from '../lib/deploy/user-messages';
import { ensurePki } from '../lib/pki/pki';
import { runCli, startCli, type CliOptions } from './support/nats-cli';
import { startNatsServer, type RunningNatsServer } from './support/nats-server';
import { copyProject } from './support/project-copy';

/**
 * The seed recipe's proof, word for word as the README and up's summary print it, run by the real
 * `nats` CLI (natscli v0.5.0) against the real nats-server 2.14.2 configured from the chart's values:
 * client1 publishes, the same without --tlsca fails on our unknown CA, client2 gets Authorization
 * Violation. Then the same through the contexts `npm run contexts` writes, read by the program
 * they are written for.
 */

const REPO = resolve(__dirname, '..');
/** A CLI run is a TLS connect and one publish: well under a second when idle, bounded for a busy machine. */
const CLI_MS = 20_000;

const work = mkdtempSync(join(tmpdir(), 'nats-cli-test-'));
/** HOME and XDG_CONFIG_HOME of every process here: the user's ~/.config is never read or written. */
const home = join(work, 'home');
let project: string;
let server: RunningNatsServer;
/** The defaults, with the server's port as the NATS host port (the only setting the commands take from the cluster). */
let config: Config;

beforeAll(async () => {
  mkdirSync(home);
  project = copyProject(work);
  const defaults = parseConfig({});
  const pki = await ensurePki(defaults, { baseDir: project });
  server = await startNatsServer({ config: defaults, caFile: pki.paths.caCert, certFile: pki.paths.serverCert, keyFile: pki.paths.serverKey });
  // The host port is k3d's mapping, not a server setting: the server above runs the same values.
  const settings = { cluster: { ports: { nats: { host: server.port } } } };
  config = parseConfig(settings);
  writeFileSync(join(project, 'k3s-nats-tls.yaml'), `${JSON.stringify(settings)}\n`);
}, 120_000);

afterAll(async () => {
  await server?.stop();
  rmSync(work, { recursive: true, force: true });
});

const inProject = (): CliOptions => ({ cwd: project, home, timeoutMs: CLI_MS });

describe('the README quotes the proof', () => {
  test('the README quotes the commands up\'s summary prints', () => {
    const readme = readFileSync(join(REPO, 'README.md'), 'utf8');
    const commands = natsClientCommands(parseConfig({}), REPO);
    expect(commands.map(({ outcome }) => outcome)).toEqual(['admitted', 'server-untrusted', 'not-authorized']);
    for (const { command } of commands) expect(readme).toContain(`\n${command}\n`);
  });
});

describe.each(['rsa', 'ecdsa'] as const)('the seed recipe\'s proof with the nats CLI (pki.keyType %s)', (keyType) => {
  /** The project whose keys/ the commands name, its server, and the configuration with that server's port. */
  let proof: { dir: string; server: RunningNatsServer; config: Config; stop?: () => Promise<void> };

  beforeAll(async () => {
    if (keyType === 'rsa') {
      proof = { dir: project, server, config };
      return;
    }
    // The same proof for ECDSA keys: a project folder of its own (the commands name keys/ relative to it) and its own server.
    const dir = join(work, keyType);
    const settings = parseConfig({ pki: { keyType } });
    const pki = await ensurePki(settings, { baseDir: dir });
    const own = await startNatsServer({ config: settings, caFile: pki.paths.caCert, certFile: pki.paths.serverCert, keyFile: pki.paths.serverKey });
    proof = { dir, server: own, config: parseConfig({ pki: { keyType }, cluster: { ports: { nats: { host: own.port } } } }), stop: () => own.stop() };
  }, 120_000);

  afterAll(async () => {
    await proof?.stop?.();
  });

  const options = (): CliOptions => ({ cwd: proof.dir, home, timeoutMs: CLI_MS });

  test('client1 with its certificate and our CA publishes', async () => {
    const [works] = natsClientCommands(proof.config, proof.dir);
    expect(works.command).toBe(`nats -s tls://localhost:${proof.server.port} --tlscert keys/client1.crt --tlskey keys/client1.key --tlsca keys/ca.crt pub say hi`);
    const mark = proof.server.logs().length;
    const run = await runCli(works.command, options());
    expect([run.code, run.output]).toEqual([0, expect.stringMatching(/Published 2 bytes to "say"/)]);
    expect(proof.server.logs().slice(mark)).not.toMatch(/\[ERR\]/);
  });

  test('without --tlsca the CLI refuses the server: x509: certificate signed by unknown authority', async () => {
    const untrusted = natsClientCommands(proof.config, proof.dir)[1];
    expect(untrusted.command).toBe(`nats -s tls://localhost:${proof.server.port} --tlscert keys/client1.crt --tlskey keys/client1.key pub say hi`);
    const run = await runCli(untrusted.command, options());
    expect(run).toMatchObject({ code: 1, output: expect.stringMatching(/^nats: error: .*x509: certificate signed by unknown authority$/m) });
    expect(run.output).not.toMatch(/Published/);
  });

  test('client2, from our CA but mapped to no user, gets nats: Authorization Violation', async () => {
    const refused = natsClientCommands(proof.config, proof.dir)[2];
    expect(refused.command).toBe(`nats -s tls://localhost:${proof.server.port} --tlscert keys/client2.crt --tlskey keys/client2.key --tlsca keys/ca.crt pub say hi`);
    const mark = proof.server.logs().length;
    const run = await runCli(refused.command, options());
    expect(run).toMatchObject({ code: 1, output: 'nats: error: nats: Authorization Violation\n' });
    await proof.server.waitForLog(/ - authentication error$/m, mark);
  });
});

describe('the contexts npm run contexts writes, used by the nats CLI', () => {
  let printed: string[];

  beforeAll(async () => {
    // WHEN the project's script writes the contexts into the test's config home
    const result = await runCommand(process.execPath, [join(project, 'scripts', 'contexts.mjs')], {
      cwd: project, env: { PATH: process.env.PATH, HOME: home, XDG_CONFIG_HOME: home, FORCE_COLOR: '0' }, timeoutMs: 60_000,
    });
    expect([result.code, result.stderr]).toEqual([0, '']);
    printed = result.stdout.split('\n').filter((line) => line.startsWith('  nats ')).map((line) => line.trim());
  }, 90_000);

  test('the commands it prints work: a message published through client1\'s context reaches its subscriber', async () => {
    expect(printed).toEqual(['nats --context dev-client1 sub demo', 'nats --context dev-client1 pub demo hi']);
    const [sub, pub] = printed;
    // The context alone says where and how to connect: url (the test server's random port), cert and
    // key (the server requires a client certificate) and ca (our CA is no system CA). Run from
    // elsewhere than the project, as contexts are meant to be.
    const anywhere = { ...inProject(), cwd: home };
    const subscriber = startCli(sub, anywhere);
    try {
      await subscriber.waitFor(/Subscribing on demo/, CLI_MS);
      const published = await runCli(pub, anywhere);
      expect([published.code, published.output]).toEqual([0, expect.stringMatching(/Published 2 bytes to "demo"/)]);
      await subscriber.waitFor(/Received on "demo"[\s\S]*\bhi\b/, CLI_MS);
    } finally {
      await subscriber.stop();
    }
  });

  test('the CLI takes the CA from the context\'s ca key: without it, our server is unknown', async () => {
    const dir = join(home, 'nats', 'context');
    const { ca: _ca, ...withoutCa } = JSON.parse(readFileSync(join(dir, 'dev-client1.json'), 'utf8')) as Record<string, string>;
    writeFileSync(join(dir, 'no-ca.json'), JSON.stringify(withoutCa));
    const run = await runCli('nats --context no-ca pub demo hi', { ...inProject(), cwd: home });
    expect(run).toMatchObject({ code: 1, output: expect.stringMatching(/^nats: error: .*x509: certificate signed by unknown authority$/m) });
  });
});
