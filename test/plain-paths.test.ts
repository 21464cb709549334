import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseConfig } from '../lib/config/config';
import { ensurePki } from '../lib/pki/pki';
import { UserError } from '../lib/util/errors';
import { makeFolders, readRegularFile } from '../lib/util/plain-paths';
import { copyProject } from './support/project-copy';

/**
 * Named pipes and /proc where a configured file or folder is expected. Each command runs as a child
 * with a deadline: a run that blocks in a read or spins in mkdir is interrupted (SIGINT), then killed,
 * and the test fails instead of hanging Jest.
 */

const work = mkdtempSync(join(tmpdir(), 'plain-paths-test-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

const DEADLINE_MS = 15_000;

interface BoundedResult {
  readonly code: number | null;
  readonly stderr: string;
  /** The run did not end by itself within the deadline. */
  readonly hung: boolean;
}

function runBounded(args: readonly string[], cwd: string, env: NodeJS.ProcessEnv): Promise<BoundedResult> {
  const child = spawn(process.execPath, args, { cwd, env: { PATH: process.env.PATH, ...env }, stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (chunk) => { stderr += chunk; });
  let hung = false;
  const interrupt = setTimeout(() => { hung = true; child.kill('SIGINT'); }, DEADLINE_MS);
  const kill = setTimeout(() => child.kill('SIGKILL'), DEADLINE_MS + 3_000);
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(interrupt);
      clearTimeout(kill);
      resolve({ code, stderr, hung });
    });
  });
}

let projects = 0;
const freshProject = () => copyProject(mkdtempSync(join(work, `project-${++projects}-`)));
const mkfifo = (path: string) => expect(spawnSync('mkfifo', [path], { stdio: 'ignore', timeout: 5_000 }).status).toBe(0);
const synth = (root: string, env: NodeJS.ProcessEnv = {}) =>
  runBounded(['--require', join(root, 'scripts/lib/ts-hook.cjs'), join(root, 'main.ts')], root, { HOME: work, ...env });

describe('npm run synth with a named pipe where a file is read', () => {
  test('K3S_NATS_TLS_CONFIG naming a pipe: one line, exit 1, nothing written', async () => {
    const root = freshProject();
    const pipe = join(work, `config-${projects}.yaml`);
    mkfifo(pipe);
    const result = await synth(root, { K3S_NATS_TLS_CONFIG: pipe });
    expect(result.hung).toBe(false);
    expect(result.stderr).toBe(`✖ the configuration file (K3S_NATS_TLS_CONFIG) ${pipe} is a named pipe (FIFO), not a regular file: ` +
      'point K3S_NATS_TLS_CONFIG at a YAML file, or unset it\n');
    expect(result.code).toBe(1);
    expect(existsSync(join(root, 'keys'))).toBe(false);
    expect(existsSync(join(root, 'dist'))).toBe(false);
  });

  test('k3s-nats-tls.yaml as a pipe', async () => {
    const root = freshProject();
    mkfifo(join(root, 'k3s-nats-tls.yaml'));
    const result = await synth(root);
    expect(result.hung).toBe(false);
    expect(result.stderr).toMatch(/^✖ the configuration file \S+\/k3s-nats-tls\.yaml is a named pipe \(FIFO\), not a regular file: replace it with a YAML file/);
    expect(result.code).toBe(1);
  });

  test("a pipe as synth's record in the output folder", async () => {
    const root = freshProject();
    mkdirSync(join(root, 'dist'));
    mkfifo(join(root, 'dist', '.synth-files'));
    const result = await synth(root);
    expect(result.hung).toBe(false);
    expect(result.stderr).toMatch(/^✖ the synth output file \S+\/dist\/\.synth-files is a named pipe \(FIFO\), not a regular file: remove it/);
    expect(result.code).toBe(1);
    expect(readdirSync(join(root, 'dist'))).toEqual(['.synth-files']);
  });
});

describe('npm run contexts where nats contexts cannot be created', () => {
  test('XDG_CONFIG_HOME under /proc: refused at once, instead of mkdir spinning for ever', async () => {
    // GIVEN a project with its certificates, and a config home under /proc (mkdir there answers ENOENT)
    const root = freshProject();
    await ensurePki(parseConfig({}), { baseDir: root });
    // WHEN contexts runs
    const result = await runBounded([join(root, 'scripts', 'contexts.mjs')], root, { HOME: work, XDG_CONFIG_HOME: '/proc/k3s-nats-tls-test' });
    // THEN it stops with the folder it could not make and the setting to change
    expect(result.hung).toBe(false);
    expect(result.stderr).toBe('✖ cannot create the nats context folder /proc/k3s-nats-tls-test/nats/context: ' +
      'mkdir /proc/k3s-nats-tls-test failed (ENOENT) — set XDG_CONFIG_HOME (or HOME) to a folder you can write into\n');
    expect(result.code).toBe(1);
  });
});

describe('the helpers themselves', () => {
  const use = { what: 'the test folder', fix: 'fix it' };

  test('makeFolders creates each missing level with exactly the mode, whatever the umask', () => {
    const path = join(work, 'made', 'a', 'b');
    const umask = process.umask(0o077);
    try {
      makeFolders(path, 0o750, use);
    } finally {
      process.umask(umask);
    }
    expect(statSync(join(work, 'made')).mode & 0o777).toBe(0o750);
    expect(statSync(path).mode & 0o777).toBe(0o750);
    // ... and leaves existing levels as they are
    makeFolders(path, 0o700, use);
    expect(statSync(path).mode & 0o777).toBe(0o750);
  });

  test('makeFolders refuses a file in the way, naming it', () => {
    writeFileSync(join(work, 'in-the-way'), '');
    expect(() => makeFolders(join(work, 'in-the-way', 'x'), 0o700, use))
      .toThrow(new UserError(`cannot create the test folder ${join(work, 'in-the-way', 'x')}: ${join(work, 'in-the-way')} is a file, not a folder — fix it`));
  });

  test('readRegularFile reads a file, answers undefined for nothing, refuses a folder', () => {
    writeFileSync(join(work, 'plain.yaml'), 'a: 1\n');
    expect(readRegularFile(join(work, 'plain.yaml'), use)).toBe('a: 1\n');
    expect(readRegularFile(join(work, 'absent.yaml'), use)).toBeUndefined();
    expect(() => readRegularFile(work, use)).toThrow(`the test folder ${work} is a folder, not a regular file: fix it`);
  });
});
