import { spawnSync } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { appendFileSync, chmodSync, lstatSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CONFIG_FILE } from '../lib/config/layout';
import { loadProject } from '../lib/config/project';
import { SYNTH_STAMP } from '../lib/synth/dist';
import { synthesize } from '../lib/synth/synth';
import { unchangedSynth } from '../lib/synth/synth-stamp';
import { copyProject } from './support/project-copy';

// `npm run synth` run as a user runs it, in copies of the project: a second run with nothing
// changed writes nothing and never loads the construct library; every kind of change brings the
// full synth back, with its own checks and messages.

const work = mkdtempSync(join(tmpdir(), 'synth-stamp-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

/** Records, as the process exits, every module it loaded (one path a line). */
const RECORDER = join(work, 'record-modules.cjs');
writeFileSync(RECORDER, `process.on('exit', () => require('node:fs').writeFileSync(process.env.LOADED_MODULES, Object.keys(require.cache).join('\\n')));\n`);

const UP_TO_DATE = '✔ dist/ is up to date: nothing it is made from changed since the last synth (--force synthesizes anyway)\n';
const SYNTHESIZED = '✔ synthesized into dist/: ';
const ENV = { K3S_NATS_TLS_CONFIG: '', CDK8S_OUTDIR: '' };

let copies = 0;
const project = (): string => copyProject(join(work, `copy-${++copies}`));

function synth(root: string, args: string[] = [], env: Record<string, string> = {}) {
  const loaded = join(work, `loaded-${copies}-${Date.now()}`);
  const result = spawnSync(process.execPath, ['--require', RECORDER, '--require', './scripts/lib/ts-hook.cjs', 'main.ts', ...args], {
    cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 120_000,
    env: { ...process.env, ...ENV, ...env, LOADED_MODULES: loaded },
  });
  return { ...result, modules: readFileSync(loaded, 'utf8').split('\n') };
}

/** Every file under the PKI and output folders with its inode and change time: what "touched nothing" means. */
function marks(root: string): Record<string, string> {
  const found: Record<string, string> = {};
  for (const folder of ['keys', 'dist']) {
    for (const name of readdirSync(join(root, folder), { recursive: true }) as string[]) {
      const stats = lstatSync(join(root, folder, name), { bigint: true });
      if (stats.isFile()) found[join(folder, name)] = `${stats.ino} ${stats.ctimeNs} ${stats.mode}`;
    }
  }
  return found;
}

const constructLibrary = (modules: readonly string[]): string[] =>
  modules.filter((file) => /node_modules\/(cdk8s|cdk8s-plus-27|constructs)\//.test(file));

describe('a synth with nothing changed', () => {
  test('says so, touches no file and loads no construct library; the first one wrote the stamp, git-ignored', () => {
    const root = project();
    const first = synth(root);
    expect(first.status).toBe(0);
    expect(first.stdout).toContain(SYNTHESIZED);
    expect(constructLibrary(first.modules).length).toBeGreaterThan(10);
    expect(readFileSync(join(root, 'dist', '.gitignore'), 'utf8').split('\n')).toContain(`/${SYNTH_STAMP}`);
    const before = marks(root);

    const second = synth(root);
    expect(second).toMatchObject({ status: 0, stdout: UP_TO_DATE, stderr: '' });
    expect(constructLibrary(second.modules)).toEqual([]);
    expect(second.modules.filter((file) => file.includes('/node_modules/zod/'))).toEqual([]);
    expect(marks(root)).toEqual(before);

    // --force synthesizes, and a synth that changes nothing still rewrites no file.
    const forced = synth(root, ['--force']);
    expect(forced.status).toBe(0);
    expect(forced.stdout).toContain(SYNTHESIZED);
    const { [`dist/${SYNTH_STAMP}`]: stampBefore, ...rest } = before;
    const { [`dist/${SYNTH_STAMP}`]: stampAfter, ...restAfter } = marks(root);
    expect(restAfter).toEqual(rest);
    expect(stampAfter).not.toEqual(stampBefore);
  });

  test('the stamp holds while its certificates stay as they are, not once one is due for renewal', () => {
    const root = project();
    expect(synth(root).status).toBe(0);
    const now = Date.now();
    expect(unchangedSynth(root, ENV, now)).toMatchObject({ dist: join(root, 'dist'), pkiFiles: 10 });
    const renewWithinDays = loadProject(root, ENV).config.pki.renewWithinDays;
    const serverCert = new X509Certificate(readFileSync(join(root, 'keys', 'server.crt')));
    const due = new Date(serverCert.validTo).getTime() - renewWithinDays * 24 * 3600 * 1000;
    expect(unchangedSynth(root, ENV, due - 1)).toBeDefined();
    expect(unchangedSynth(root, ENV, due)).toBeUndefined();
    expect(unchangedSynth(root, ENV, new Date(serverCert.validFrom).getTime() - 1)).toBeUndefined();
    // Another output folder or configuration file is another stamp.
    expect(unchangedSynth(root, { ...ENV, CDK8S_OUTDIR: 'out' }, now)).toBeUndefined();
    expect(unchangedSynth(root, { ...ENV, K3S_NATS_TLS_CONFIG: 'other.yaml' }, now)).toBeUndefined();
  });
});

test('the driver and the configuration load without the construct library (up with nothing changed never needs it)', () => {
  const root = project();
  const script = "require('./lib/driver/up'); require('./lib/config/project').loadProject(process.cwd(), process.env);";
  const loaded = join(work, 'loaded-driver');
  const run = spawnSync(process.execPath, ['--require', RECORDER, '--require', './scripts/lib/ts-hook.cjs', '-e', script], {
    cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 120_000, env: { ...process.env, ...ENV, LOADED_MODULES: loaded },
  });
  expect(run).toMatchObject({ status: 0, stderr: '' });
  const modules = readFileSync(loaded, 'utf8').split('\n');
  expect(modules).toContain(join(root, 'lib', 'driver', 'up', 'files.ts'));
  expect(constructLibrary(modules)).toEqual([]);
});

describe('after a change, synth runs in full', () => {
  test.each([
    ['the configuration file appears', (root: string) => writeFileSync(join(root, CONFIG_FILE), 'echo:\n  text: changed\n'), /changed/],
    ['a module of the program changes', (root: string) => appendFileSync(join(root, 'lib', 'synth', 'stack.ts'), '\n'), undefined],
  ])('%s', (_what, change, expected) => {
    const root = project();
    expect(synth(root).status).toBe(0);
    change(root);
    const run = synth(root);
    expect(run.status).toBe(0);
    expect(run.stdout).toContain(SYNTHESIZED);
    expect(constructLibrary(run.modules).length).toBeGreaterThan(10);
    if (expected) expect(readFileSync(join(root, 'dist', '0003-echo.k8s.yaml'), 'utf8')).toMatch(expected);
    expect(synth(root).stdout).toBe(UP_TO_DATE);
  });

  test('a manifest edited by hand is written again, a key made readable is made private again', () => {
    const root = project();
    expect(synth(root).status).toBe(0);
    const manifest = join(root, 'dist', '0000-namespaces.k8s.yaml');
    const original = readFileSync(manifest, 'utf8');
    writeFileSync(manifest, original.replace('name: nats', 'name: edited'));
    chmodSync(join(root, 'keys', 'client1.key'), 0o644);
    const run = synth(root);
    expect(run.stdout).toContain(SYNTHESIZED);
    expect(readFileSync(manifest, 'utf8')).toBe(original);
    expect(statSync(join(root, 'keys', 'client1.key')).mode & 0o777).toBe(0o600);
  });

  test('a foreign file in dist/ is refused as without a stamp, and a removed certificate is issued again', () => {
    const root = project();
    expect(synth(root).status).toBe(0);
    writeFileSync(join(root, 'dist', 'notes.txt'), 'mine\n');
    const refused = synth(root);
    expect(refused.status).toBe(1);
    expect(refused.stderr).toContain('notes.txt');
    rmSync(join(root, 'dist', 'notes.txt'));
    rmSync(join(root, 'keys', 'client2.crt'));
    const run = synth(root);
    expect(run.stdout).toContain('✔ issued keys/client2.crt');
  });

  test('a damaged stamp is no stamp; an in-process synth without its program files leaves none', async () => {
    const root = project();
    expect(synth(root).status).toBe(0);
    writeFileSync(join(root, 'dist', SYNTH_STAMP), '{"key": 1, "files": null}');
    expect(synth(root).stdout).toContain(SYNTHESIZED);
    await synthesize(loadProject(root, ENV));
    expect(readdirSync(join(root, 'dist'))).not.toContain(SYNTH_STAMP);
  });
});
