import { ChildProcess, spawn } from 'node:child_process';
import { createPrivateKey, X509Certificate } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, utimesSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { UserError } from '../lib/util/errors';
import { LOCK_NAME, withProjectLock } from '../lib/util/project-lock';
import { copyProject } from './support/project-copy';

/**
 * Real parallel processes on one project: synth against synth, certs --force against synth, and
 * synth killed with SIGKILL at random moments. Whatever the interleaving, keys/ and the Secret stay
 * one consistent generation, and nothing a killed run left behind survives the next run.
 */

const work = mkdtempSync(join(tmpdir(), 'concurrency-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));
const root = copyProject(work);
const ROUNDS = 4;

interface Exit { code: number | null; stdout: string; stderr: string }

function start(args: string[]): { child: ChildProcess; done: Promise<Exit> } {
  const child = spawn(process.execPath, args, { cwd: root, env: { ...process.env, K3S_NATS_TLS_CONFIG: '', CDK8S_OUTDIR: '', FORCE_COLOR: '0' }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk) => { stdout += chunk; });
  child.stderr.on('data', (chunk) => { stderr += chunk; });
  return { child, done: new Promise((resolve) => child.on('close', (code) => resolve({ code, stdout, stderr }))) };
}

const synth = () => start(['--require', './scripts/lib/ts-hook.cjs', 'main.ts']);
const certs = (...args: string[]) => start([join(root, 'scripts', 'certs.mjs'), ...args]);

const read = (path: string) => readFileSync(join(root, path), 'utf8');

/** keys/ is one generation: the CA key matches its certificate, which signs the server certificate. */
function expectConsistentKeys(): void {
  const ca = new X509Certificate(read('keys/ca.crt'));
  expect(ca.checkPrivateKey(createPrivateKey(read('keys/ca.key')))).toBe(true);
  const server = new X509Certificate(read('keys/server.crt'));
  expect(server.checkPrivateKey(createPrivateKey(read('keys/server.key')))).toBe(true);
  expect(server.verify(ca.publicKey)).toBe(true);
}

/** The NATS server Secret's three PEMs, decoded (the file also holds http-echo's Secret). */
function secret(): Record<string, string> {
  const { data } = parseAllDocuments(read('dist/0001-nats-tls.k8s.yaml')).map((doc) => doc.toJS())
    .find((object) => object.metadata.name === 'nats-server-tls');
  return Object.fromEntries(Object.entries(data as Record<string, string>).map(([key, value]) => [key, Buffer.from(value, 'base64').toString()]));
}

/** The Secret is one generation in itself: its key matches its certificate, which its CA signs. */
function expectConsistentSecret(): void {
  const tls = secret();
  const cert = new X509Certificate(tls['tls.crt']);
  expect(cert.checkPrivateKey(createPrivateKey(tls['tls.key']))).toBe(true);
  expect(cert.verify(new X509Certificate(tls['ca.crt']).publicKey)).toBe(true);
}

const fresh = () => ['keys', 'dist'].forEach((dir) => rmSync(join(root, dir), { recursive: true, force: true }));

describe('one lock around PKI changes and synth', () => {
  test('two synths on a fresh keys/: both succeed, and keys/ and the Secret are the same generation', async () => {
    for (let round = 0; round < ROUNDS; round++) {
      fresh();
      const runs = await Promise.all([synth().done, synth().done]);
      for (const run of runs) expect([run.code, run.stderr]).toEqual([0, '']);
      expectConsistentKeys();
      expectConsistentSecret();
      expect(secret()['tls.crt']).toBe(read('keys/server.crt'));
      expect(secret()['ca.crt']).toBe(read('keys/ca.crt'));
    }
  }, 240_000);

  test('certs --force racing synth: keys/ stays consistent, and a stale Secret is never "nothing to do"', async () => {
    fresh();
    expect((await synth().done).code).toBe(0);
    for (let round = 0; round < ROUNDS; round++) {
      const runs = await Promise.all([certs('--force').done, synth().done]);
      for (const run of runs) expect([run.code, run.stderr]).toEqual([0, '']);
      expectConsistentKeys();
      expectConsistentSecret();
      // WHEN certs runs again THEN it tells the truth about the Secret synth left
      const check = await certs().done;
      expect(check.code).toBe(0);
      const current = secret()['tls.crt'] === read('keys/server.crt');
      expect([current, check.stdout.includes('Nothing to do.')]).toEqual([current, current]);
      if (!current) expect(check.stdout).toContain('Next: npm run synth');
    }
  }, 240_000);

  test('synth killed at random moments: the next run cleans up after it and succeeds', async () => {
    fresh();
    for (let round = 0; round < ROUNDS; round++) {
      const run = synth();
      await new Promise((resolve) => setTimeout(resolve, 100 + Math.floor(Math.random() * 700)));
      run.child.kill('SIGKILL');
      await run.done;
    }
    // A killed holder stops refreshing its lock; age it as the clock would, instead of waiting for it to go stale.
    const lock = join(root, LOCK_NAME);
    if (existsSync(lock)) utimesSync(lock, new Date(Date.now() - 60_000), new Date(Date.now() - 60_000));
    const after = await synth().done;
    expect([after.code, after.stderr]).toEqual([0, '']);
    expectConsistentKeys();
    expectConsistentSecret();
    expect(readdirSync(join(root, 'dist')).filter((name) => name.startsWith('.')).sort()).toEqual(['.gitignore', '.synth-files', '.synth-stamp']);
    expect(readdirSync(join(root, 'keys')).filter((name) => name.endsWith('.tmp'))).toEqual([]);
    expect(existsSync(lock)).toBe(false);
  }, 240_000);

  test('a run that cannot get the lock in time says who holds it and what to do', async () => {
    const dir = mkdtempSync(join(work, 'held-'));
    let release!: () => void;
    const holder = withProjectLock(dir, () => new Promise<void>((resolve) => { release = resolve; }));
    await new Promise((resolve) => setTimeout(resolve, 100));
    const waiting = withProjectLock(dir, async () => 'ran', { waitMs: 600 });
    await expect(waiting).rejects.toThrow(UserError);
    await expect(waiting).rejects.toThrow(/another run \(synth, certs, up or down\) has held .*\.k3s-nats-tls\.lock for over 0\.6 s: wait for it to finish/);
    release();
    await holder;
    await expect(withProjectLock(dir, async () => 'ran')).resolves.toBe('ran');
  });
});
