import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { natsContextsTarget, parseConfig } from '../lib/config/config';
import {
  CONTEXT_MARKER, contextText, natsContextDir, natsContexts, tryCommands, writeNatsContexts, type NatsContext,
} from '../lib/nats/contexts';
import { pkiFilesIn, pkiPaths } from '../lib/pki/paths';
import { ensurePki } from '../lib/pki/pki';
import { UserError } from '../lib/util/errors';
import { copyProject } from './support/project-copy';
import { natsCliBin } from './support/tools';

const work = mkdtempSync(join(tmpdir(), 'nats-contexts-test-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

let dirs = 0;
const freshDir = (name: string) => mkdtempSync(join(work, `${name}-${++dirs}-`));
const mode = (path: string) => statSync(path).mode & 0o777;
const json = (file: string) => JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;

/**
 * Every field natscli v0.5.0's context file knows (jsm.go v0.5.0 natscontext/context.go, the
 * `settings` JSON tags): a name outside this list would be silently ignored by `nats`, so a typo
 * here would cost the user their TLS setup. test/nats-cli.test.ts runs the CLI on the files.
 */
const NATSCLI_FIELDS = ['name', 'description', 'url', 'socks_proxy', 'token', 'user', 'password', 'creds', 'nkey', 'cert', 'key', 'ca', 'nsc',
  'jetstream_domain', 'jetstream_api_prefix', 'jetstream_event_prefix', 'inbox_prefix', 'user_jwt', 'user_seed', 'color_scheme', 'tls_first',
  'windows_cert_store', 'windows_cert_match_by', 'windows_cert_match', 'windows_ca_certs_match'];

/** The recipe's identities plus an authorized one with publish rules, on a cluster not named `dev`. */
const config = parseConfig({
  cluster: { name: 'lab', ports: { nats: { host: 14222 } } },
  pki: {
    identities: [
      { name: 'client1', email: 'client1@example.com', authorized: true },
      { name: 'client2' },
      {
        name: 'sensor', email: 'sensor@example.com', authorized: true,
        permissions: { publish: { allow: ['sensors.>'] }, subscribe: { deny: ['sensors.>'] } },
      },
    ],
  },
});
const CHECKOUT = '/srv/project';
const KEYS = `${CHECKOUT}/keys`;
const contexts = (): NatsContext[] => natsContexts(natsContextsTarget(config), pkiFilesIn(KEYS), CHECKOUT);

describe('where natscli keeps contexts', () => {
  test('$XDG_CONFIG_HOME/nats/context when set, else <home>/.config/nats/context', () => {
    expect(natsContextDir({ XDG_CONFIG_HOME: '/x/cfg', HOME: '/home/u' }, '/home/u')).toBe('/x/cfg/nats/context');
    expect(natsContextDir({ XDG_CONFIG_HOME: '', HOME: '/home/u' }, '/home/u')).toBe('/home/u/.config/nats/context');
  });

  test('without XDG_CONFIG_HOME, the account\'s home from the user database, not $HOME — as the real nats CLI does', () => {
    // GIVEN a $HOME that is not the account's home, holding a context where $HOME would put it
    const fakeHome = freshDir('fake-home');
    const account = userInfo().homedir;
    expect(account).not.toBe(fakeHome);
    mkdirSync(join(fakeHome, '.config', 'nats', 'context'), { recursive: true });
    writeFileSync(join(fakeHome, '.config', 'nats', 'context', 'only-under-home.json'), '{"url":"nats://127.0.0.1:4222"}');

    // WHEN the folder is worked out with nothing but the environment
    // THEN it is under the account's home
    expect(natsContextDir({ HOME: fakeHome })).toBe(join(account, '.config', 'nats', 'context'));
    // AND the real nats CLI, given the same environment, does not see the context under $HOME either
    const listContexts = (env: NodeJS.ProcessEnv): string => {
      const listed = spawnSync(natsCliBin(), ['context', 'ls'], { encoding: 'utf8', timeout: 20_000, stdio: ['ignore', 'pipe', 'pipe'], env });
      expect([listed.error?.message ?? '', listed.status]).toEqual(['', 0]);
      return listed.stdout + listed.stderr;
    };
    expect(listContexts({ PATH: process.env.PATH, HOME: fakeHome })).not.toContain('only-under-home');
    // (while pointed at that folder through XDG_CONFIG_HOME it does list it)
    expect(listContexts({ PATH: process.env.PATH, HOME: fakeHome, XDG_CONFIG_HOME: join(fakeHome, '.config') })).toContain('only-under-home');
  });

  test('without XDG_CONFIG_HOME and a home directory it asks for one', () => {
    expect(() => natsContextDir({}, '')).toThrow(/cannot tell where nats keeps its contexts: set XDG_CONFIG_HOME/);
  });

  test('a relative XDG_CONFIG_HOME is refused: nats would resolve it against wherever it runs', () => {
    expect(() => natsContextDir({ XDG_CONFIG_HOME: 'cfg' }, '/home/u')).toThrow(UserError);
    expect(() => natsContextDir({ XDG_CONFIG_HOME: 'cfg' }, '/home/u')).toThrow(/XDG_CONFIG_HOME is relative \(cfg\).*set an absolute path/);
  });
});

describe('the contexts for a configuration', () => {
  test('one per authorized identity, named <cluster>-<identity>, with natscli\'s field names and absolute paths', () => {
    const built = contexts();
    expect(built.map(({ name }) => name)).toEqual(['lab-client1', 'lab-sensor']);
    expect(built[0].settings).toEqual({
      description: 'k3s-nats-tls "/srv/project": client1 on k3d cluster lab (written by npm run contexts)',
      url: 'tls://localhost:14222',
      cert: `${KEYS}/client1.crt`,
      key: `${KEYS}/client1.key`,
      ca: `${KEYS}/ca.crt`,
    });
    for (const { settings } of built) {
      expect(settings.description.startsWith(CONTEXT_MARKER)).toBe(true);
      expect(Object.keys(JSON.parse(contextText(settings)) as object).filter((field) => !NATSCLI_FIELDS.includes(field))).toEqual([]);
    }
  });

  test('a path with \'$\' is refused: natscli would expand it as an environment variable', () => {
    expect(() => natsContexts(natsContextsTarget(config), pkiFilesIn('/srv/$HOME/keys'), '/srv/$HOME')).toThrow(/\/srv\/\$HOME\/keys\/client1\.crt contains '\$'.*path without '\$'/);
  });

  test('the commands to try use a subject the identity may use', () => {
    const [client1, sensor] = contexts();
    expect(tryCommands(client1)).toEqual(['nats --context lab-client1 sub demo', 'nats --context lab-client1 pub demo hi']);
    // sensor may publish only under sensors.> and subscribe to none of it
    expect(tryCommands(sensor)).toEqual(['nats --context lab-sensor pub sensors.demo hi']);
    const mute = { ...sensor, identity: { ...sensor.identity, permissions: { publish: { deny: ['>'] } } } };
    expect(tryCommands(mute)).toEqual(['nats --context lab-sensor rtt']);
  });
});

describe('writing the contexts', () => {
  test('writes each as 0600 JSON into a 0700 folder it creates, leaving the selected context alone', () => {
    // GIVEN a config home where the user selected a context of their own
    const home = freshDir('write');
    mkdirSync(join(home, 'nats'));
    writeFileSync(join(home, 'nats', 'context.txt'), 'mine');
    const dir = join(home, 'nats', 'context');
    // WHEN the contexts are written
    const outcomes = writeNatsContexts(contexts(), dir);
    // THEN each file holds exactly its settings, readable by the owner only
    expect(outcomes).toEqual([
      { name: 'lab-client1', file: join(dir, 'lab-client1.json'), status: 'written' },
      { name: 'lab-sensor', file: join(dir, 'lab-sensor.json'), status: 'written' },
    ]);
    expect(readdirSync(dir).sort()).toEqual(['lab-client1.json', 'lab-sensor.json']);
    expect(mode(dir)).toBe(0o700);
    for (const context of contexts()) {
      const file = join(dir, `${context.name}.json`);
      expect(readFileSync(file, 'utf8')).toBe(contextText(context.settings));
      expect(json(file)).toEqual(context.settings);
      expect(mode(file)).toBe(0o600);
    }
    // AND the selection is untouched
    expect(readFileSync(join(home, 'nats', 'context.txt'), 'utf8')).toBe('mine');
  });

  test('a second run changes nothing, not even the files\' inodes', () => {
    const dir = join(freshDir('again'), 'nats', 'context');
    writeNatsContexts(contexts(), dir);
    const before = readdirSync(dir).map((name) => [name, lstatSync(join(dir, name)).ino, readFileSync(join(dir, name), 'utf8')]);
    const outcomes = writeNatsContexts(contexts(), dir);
    expect(outcomes.map(({ status }) => status)).toEqual(['unchanged', 'unchanged']);
    expect(readdirSync(dir).map((name) => [name, lstatSync(join(dir, name)).ino, readFileSync(join(dir, name), 'utf8')])).toEqual(before);
  });

  test('our own context with other content (another port), or readable by others, is updated', () => {
    // GIVEN lab-client1 as written for the default NATS port
    const dir = join(freshDir('update'), 'nats', 'context');
    writeNatsContexts(natsContexts(natsContextsTarget(parseConfig({ cluster: { name: 'lab' } })), pkiFilesIn(KEYS), CHECKOUT), dir);
    // WHEN written for port 14222 THEN it is replaced
    expect(writeNatsContexts(contexts(), dir).map(({ status }) => status)).toEqual(['updated', 'written']);
    expect(json(join(dir, 'lab-client1.json')).url).toBe('tls://localhost:14222');
    // GIVEN the same content made readable by everyone WHEN written again THEN it is 0600 again
    chmodSync(join(dir, 'lab-sensor.json'), 0o644);
    expect(writeNatsContexts(contexts(), dir).map(({ status }) => status)).toEqual(['unchanged', 'updated']);
    expect(mode(join(dir, 'lab-sensor.json'))).toBe(0o600);
  });

  test('a context someone else wrote is left byte for byte and reported with the fix', () => {
    // GIVEN lab-client1 exists, written by natscli for another server; lab-sensor is a symlink; both unknown to us
    const dir = join(freshDir('foreign'), 'nats', 'context');
    mkdirSync(dir, { recursive: true });
    const foreign = '{\n  "description": "production",\n  "url": "tls://nats.example.com:4222",\n'
      + '  "creds": "/home/u/prod.creds"\n}';
    writeFileSync(join(dir, 'lab-client1.json'), foreign, { mode: 0o644 });
    writeFileSync(join(dir, 'elsewhere.json'), contextText(contexts()[1].settings));
    symlinkSync(join(dir, 'elsewhere.json'), join(dir, 'lab-sensor.json'));
    // WHEN the contexts are written
    const outcomes = writeNatsContexts(contexts(), dir);
    // THEN neither is touched, and each is reported with its file and what to do
    expect(outcomes.map(({ status }) => status)).toEqual(['skipped', 'skipped']);
    expect(readFileSync(join(dir, 'lab-client1.json'), 'utf8')).toBe(foreign);
    expect(mode(join(dir, 'lab-client1.json'))).toBe(0o644);
    expect(lstatSync(join(dir, 'lab-sensor.json')).isSymbolicLink()).toBe(true);
    expect(outcomes[0].warning).toBe(`${join(dir, 'lab-client1.json')} is a nats context this project did not write `
      + "(its description does not start with 'k3s-nats-tls'): left as it is — "
      + 'remove or rename it (nats context rm lab-client1) and run npm run contexts again');
    expect(readdirSync(dir).sort()).toEqual(['elsewhere.json', 'lab-client1.json', 'lab-sensor.json']);
  });

  test('a context another checkout of the project wrote is left byte for byte, naming that checkout and the way out', () => {
    // GIVEN lab-client1 and lab-sensor written by a second clone, whose keys come from another CA
    const dir = join(freshDir('other-checkout'), 'nats', 'context');
    const other = '/home/u/second "clone": k3s-nats-tls';
    writeNatsContexts(natsContexts(natsContextsTarget(config), pkiFilesIn(`${other}/keys`), other), dir);
    const before = readdirSync(dir).map((name) => readFileSync(join(dir, name), 'utf8'));
    // WHEN this checkout writes its contexts
    const outcomes = writeNatsContexts(contexts(), dir);
    // THEN both are kept as they were, and each is reported with the other checkout and what to do
    expect(outcomes.map(({ status }) => status)).toEqual(['skipped', 'skipped']);
    expect(readdirSync(dir).map((name) => readFileSync(join(dir, name), 'utf8'))).toEqual(before);
    expect(outcomes[0].warning).toBe(`${join(dir, 'lab-client1.json')} belongs to another checkout of this project, ${other}: left as it is — `
      + 'use it from there, give this checkout its own cluster.name (contexts are named <cluster.name>-<identity>), '
      + 'or remove it (nats context rm lab-client1) and run npm run contexts again');
    // ... while the other checkout still owns them
    expect(writeNatsContexts(natsContexts(natsContextsTarget(config), pkiFilesIn(`${other}/keys`), other), dir).map(({ status }) => status))
      .toEqual(['unchanged', 'unchanged']);
  });

  test('a context an earlier version wrote, naming no checkout, is updated only when it uses this checkout\'s keys', () => {
    const dir = join(freshDir('unnamed-checkout'), 'nats', 'context');
    mkdirSync(dir, { recursive: true });
    const [client1, sensor] = contexts();
    const earlier = (settings: NatsContext['settings'], ca: string) =>
      contextText({ ...settings, description: 'k3s-nats-tls: written by an earlier version', ca });
    writeFileSync(join(dir, 'lab-client1.json'), earlier(client1.settings, client1.settings.ca));
    writeFileSync(join(dir, 'lab-sensor.json'), earlier(sensor.settings, '/home/u/second/keys/ca.crt'));
    const outcomes = writeNatsContexts(contexts(), dir);
    expect(outcomes.map(({ status }) => status)).toEqual(['updated', 'skipped']);
    expect(json(join(dir, 'lab-client1.json'))).toEqual(client1.settings);
    expect(outcomes[1].warning).toBe(`${join(dir, 'lab-sensor.json')} was written by an earlier npm run contexts for the keys at `
      + "/home/u/second/keys/ca.crt, not this checkout's: left as it is — remove it (nats context rm lab-sensor) and run npm run contexts again");
  });

  test('a file that is not JSON at all is someone else\'s too', () => {
    const dir = join(freshDir('garbage'), 'nats', 'context');
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'lab-client1.json'), `# ${CONTEXT_MARKER} but not JSON`);
    expect(writeNatsContexts(contexts(), dir).map(({ status }) => status)).toEqual(['skipped', 'written']);
    expect(readFileSync(join(dir, 'lab-client1.json'), 'utf8')).toBe(`# ${CONTEXT_MARKER} but not JSON`);
  });

  test('a dry run reports and writes nothing, not even the folder', () => {
    const home = freshDir('dry');
    const outcomes = writeNatsContexts(contexts(), join(home, 'nats', 'context'), { dryRun: true });
    expect(outcomes.map(({ status }) => status)).toEqual(['written', 'written']);
    expect(readdirSync(home)).toEqual([]);
  });
});

/** Two script runs on a busy 2-core machine, each bounded by runContexts. */
const SCRIPT_TEST_MS = 130_000;

/**
 * Runs the project copy's scripts/contexts.mjs as `npm run contexts` does, with a config home of the
 * test's own (never the user's). It takes about a second; the bound turns a hang into a failure.
 */
function runContexts(project: string, xdg: string, args: string[]): { code: number | null; stdout: string; stderr: string } {
  const result = spawnSync(process.execPath, [join(project, 'scripts', 'contexts.mjs'), ...args], {
    cwd: project, encoding: 'utf8', timeout: 60_000, stdio: ['ignore', 'pipe', 'pipe'],
    env: { PATH: process.env.PATH, HOME: process.env.HOME, XDG_CONFIG_HOME: xdg, FORCE_COLOR: '0' },
  });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}

describe('npm run contexts (scripts/contexts.mjs)', () => {
  // A project copy with keys for the configuration above: the script works on the project it lives in.
  let project: string;
  const PROJECT_CONFIG = [
    'cluster: { name: lab, ports: { nats: { host: 14222 } } }',
    'pki:',
    '  identities:',
    '    - { name: client1, email: client1@example.com, authorized: true }',
    '    - { name: client2 }',
    '    - name: sensor',
    '      email: sensor@example.com',
    '      authorized: true',
    '      permissions: { publish: { allow: [sensors.>] }, subscribe: { deny: [sensors.>] } }',
    '',
  ].join('\n');

  beforeAll(() => {
    project = copyProject(freshDir('project'));
    writeFileSync(join(project, 'k3s-nats-tls.yaml'), PROJECT_CONFIG);
    // `npm run synth` issues the PKI: RSA keys and pure-JS signing take a few seconds on a busy machine.
    const synth = spawnSync(process.execPath, ['--require', './scripts/lib/ts-hook.cjs', 'main.ts'], {
      cwd: project, encoding: 'utf8', timeout: 120_000, stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, K3S_NATS_TLS_CONFIG: '', CDK8S_OUTDIR: '' },
    });
    expect([synth.status, synth.stderr]).toEqual([0, '']);
  }, 150_000);

  const run = (xdg: string, ...args: string[]) => runContexts(project, xdg, args);

  test('writes the authorized identities\' contexts, says so, and prints the commands to try', () => {
    const xdg = freshDir('xdg');
    const dir = join(xdg, 'nats', 'context');
    const result = run(xdg);
    expect([result.code, result.stderr]).toEqual([0, '']);
    expect(readdirSync(dir).sort()).toEqual(['lab-client1.json', 'lab-sensor.json']);
    const keys = pkiPaths(config, project);
    expect(json(join(dir, 'lab-sensor.json'))).toEqual({
      description: `k3s-nats-tls ${JSON.stringify(project)}: sensor on k3d cluster lab (written by npm run contexts)`,
      url: 'tls://localhost:14222',
      cert: join(project, 'keys', 'sensor.crt'),
      key: join(project, 'keys', 'sensor.key'),
      ca: join(project, 'keys', 'ca.crt'),
    });
    for (const file of [keys.caCert, keys.identityCert('sensor'), keys.identityKey('sensor')]) expect(existsSync(file)).toBe(true);
    expect(mode(join(dir, 'lab-sensor.json'))).toBe(0o600);
    expect(result.stdout).toContain(`✔ written      lab-client1  ${join(dir, 'lab-client1.json')}`);
    expect(result.stdout).toContain('  nats --context lab-client1 pub demo hi\n');
    expect(result.stdout).toContain('  nats --context lab-sensor pub sensors.demo hi\n');
    // WHEN run again THEN nothing changes and it says so
    const before = readFileSync(join(dir, 'lab-client1.json'));
    const again = run(xdg);
    expect(again.code).toBe(0);
    expect(again.stdout).toContain(`= unchanged    lab-client1  ${join(dir, 'lab-client1.json')}`);
    expect(again.stdout).toContain(`= unchanged    lab-sensor  ${join(dir, 'lab-sensor.json')}`);
    expect(readFileSync(join(dir, 'lab-client1.json'))).toEqual(before);
  }, SCRIPT_TEST_MS);

  test('a foreign context of the same name is kept and reported; the others are written', () => {
    const xdg = freshDir('xdg-foreign');
    const dir = join(xdg, 'nats', 'context');
    mkdirSync(dir, { recursive: true });
    const foreign = '{"description":"my own","url":"nats://demo.nats.io:4222"}';
    writeFileSync(join(dir, 'lab-client1.json'), foreign);
    const result = run(xdg);
    expect(result.code).toBe(0);
    expect(readFileSync(join(dir, 'lab-client1.json'), 'utf8')).toBe(foreign);
    expect(result.stdout).toContain(`! ${join(dir, 'lab-client1.json')} is a nats context this project did not write`);
    expect(result.stdout).toContain('remove or rename it (nats context rm lab-client1)');
    expect(result.stdout).not.toContain('nats --context lab-client1');
    expect(result.stdout).toContain('nats --context lab-sensor pub sensors.demo hi');
    expect(existsSync(join(dir, 'lab-sensor.json'))).toBe(true);
  }, SCRIPT_TEST_MS);

  test('a second clone of the project leaves the first one\'s contexts, and says whose they are', async () => {
    // GIVEN the first clone's contexts, and a second clone with the same configuration but its own CA
    const xdg = freshDir('xdg-clones');
    const dir = join(xdg, 'nats', 'context');
    expect(run(xdg).code).toBe(0);
    const first = readFileSync(join(dir, 'lab-client1.json'), 'utf8');
    const second = copyProject(freshDir('second-clone'));
    writeFileSync(join(second, 'k3s-nats-tls.yaml'), PROJECT_CONFIG);
    await ensurePki(config, { baseDir: second });
    // WHEN the second clone writes its contexts
    const result = runContexts(second, xdg, []);
    // THEN the first clone's files are untouched, and each is reported with the first clone's path
    expect([result.code, result.stderr]).toEqual([0, '']);
    expect(readFileSync(join(dir, 'lab-client1.json'), 'utf8')).toBe(first);
    expect(json(join(dir, 'lab-client1.json')).cert).toBe(join(project, 'keys', 'client1.crt'));
    expect(result.stdout).toContain(`! ${join(dir, 'lab-client1.json')} belongs to another checkout of this project, ${project}: left as it is`);
    expect(result.stdout).toContain(`! ${join(dir, 'lab-sensor.json')} belongs to another checkout of this project, ${project}: left as it is`);
    expect(result.stdout).not.toContain('✔');
  }, SCRIPT_TEST_MS);

  test('--dry-run shows the files it would write and writes none', () => {
    const xdg = freshDir('xdg-dry');
    const result = run(xdg, '--dry-run');
    expect([result.code, result.stderr]).toEqual([0, '']);
    expect(result.stdout).toContain(`✔ would write  lab-client1  ${join(xdg, 'nats', 'context', 'lab-client1.json')}`);
    expect(result.stdout).toContain(`"cert": "${join(project, 'keys', 'client1.crt')}"`);
    expect(readdirSync(xdg)).toEqual([]);
  }, SCRIPT_TEST_MS);

  test('--help exits 0, a misspelt flag exits 2, and neither writes anything', () => {
    const xdg = freshDir('xdg-flags');
    const help = run(xdg, '--help');
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/^Usage: npm run contexts -- \[flags\]/);
    expect(help.stdout).toContain('--dry-run');
    const typo = run(xdg, '--dryrun');
    expect(typo.code).toBe(2);
    expect(typo.stderr).toContain('✖ unknown flag --dryrun');
    expect(readdirSync(xdg)).toEqual([]);
  }, SCRIPT_TEST_MS);

  test('without the certificates it exits 1 with one line pointing at npm run synth', () => {
    // GIVEN a project copy whose PKI was never issued
    const bare = copyProject(freshDir('bare'));
    const xdg = freshDir('xdg-bare');
    const result = runContexts(bare, xdg, []);
    expect(result.code).toBe(1);
    expect(result.stderr).toBe('✖ keys/ca.crt, keys/client1.crt, keys/client1.key are missing: '
      + 'run `npm run synth` (or `npm run certs`) first to issue the certificates\n');
    expect(readdirSync(xdg)).toEqual([]);
  }, SCRIPT_TEST_MS);
});
