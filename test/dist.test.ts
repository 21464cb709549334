import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { parse, stringify } from 'yaml';
import { CONFIG_ENV, CONFIG_FILE } from '../lib/config';
import { NATS_RENDERED_FILE, NATS_VALUES_FILE } from '../lib/layout';

const ROOT = join(__dirname, '..');
const git = (...args: string[]) => execFileSync('git', args, { cwd: ROOT, encoding: 'utf8' });
const work = mkdtempSync(join(tmpdir(), 'synth-'));

/** The repository's own configuration, with the PKI moved to a temp folder so the test never touches keys/. */
function testConfigFile(): string {
  const repoConfig = join(ROOT, CONFIG_FILE);
  const raw = existsSync(repoConfig) ? parse(readFileSync(repoConfig, 'utf8')) ?? {} : {};
  const file = join(work, 'config.yaml');
  writeFileSync(file, stringify({ ...raw, pki: { ...raw.pki, dir: join(work, 'keys') } }));
  return file;
}
const configFile = testConfigFile();

/** Runs `npm run synth`'s command into `outdir`. */
function synth(outdir: string, env: Record<string, string> = {}) {
  return spawnSync(process.execPath, ['--require', 'sucrase/register/ts', 'main.ts'], {
    cwd: ROOT,
    encoding: 'utf8',
    env: { ...process.env, CDK8S_OUTDIR: outdir, [CONFIG_ENV]: configFile, ...env },
  });
}

function filesUnder(dir: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isFile())
    .map((entry) => relative(dir, join(entry.parentPath, entry.name)))
    .sort();
}

describe('npm run synth', () => {
  const first = join(work, 'first');
  const second = join(work, 'second');
  let firstRun: ReturnType<typeof synth>;

  beforeAll(() => {
    firstRun = synth(first);
    synth(second);
  });

  test('succeeds on a fresh checkout, creating the PKI it needs', () => {
    expect(firstRun.stderr).toBe('');
    expect(firstRun.status).toBe(0);
    expect(existsSync(join(work, 'keys', 'ca.crt'))).toBe(true);
    // AND it says what it did
    expect(firstRun.stdout).toMatch(/✔ issued .*ca\.crt \(new CA, 1000 days\)/);
    expect(firstRun.stdout).toContain(`✔ synthesized into ${first}/: 0000-namespaces.k8s.yaml,`);
  });

  test('the committed dist/ is exactly what a fresh synth produces', () => {
    // GIVEN the files git tracks under dist/ and a fresh synth
    const tracked = git('ls-files', 'dist').split('\n').filter(Boolean).map((f) => relative('dist', f)).sort();
    const fresh = filesUnder(first).filter((f) => !isIgnored(join('dist', f)));
    // THEN the same files exist on both sides, byte for byte
    expect(tracked).toEqual(fresh);
    for (const file of tracked) {
      expect([file, readFileSync(join(first, file), 'utf8')]).toEqual([file, readFileSync(join(ROOT, 'dist', file), 'utf8')]);
    }
  });

  test('is byte-identical across runs', () => {
    expect(filesUnder(second)).toEqual(filesUnder(first));
    for (const file of filesUnder(first)) {
      expect(readFileSync(join(second, file))).toEqual(readFileSync(join(first, file)));
    }
  });

  test('writes the manifests in apply order and the Helm values beside them', () => {
    expect(filesUnder(first)).toEqual([
      '0000-namespaces.k8s.yaml', '0001-nats-tls.k8s.yaml', '0002-nats-access.k8s.yaml', '0003-echo.k8s.yaml', NATS_VALUES_FILE,
    ]);
  });

  test('the Secret manifest holds the server key, is owner-only and is git-ignored', () => {
    const secretFile = join(first, '0001-nats-tls.k8s.yaml');
    const secret = parse(readFileSync(secretFile, 'utf8'));
    expect(Buffer.from(secret.data['tls.key'], 'base64').toString()).toMatch(/-----BEGIN (RSA )?PRIVATE[ ]KEY-----/);
    expect(statSync(secretFile).mode & 0o777).toBe(0o600);
    expect(isIgnored('dist/0001-nats-tls.k8s.yaml')).toBe(true);
    expect(statSync(join(first, '0003-echo.k8s.yaml')).mode & 0o777).toBe(0o644);
  });

  test('keeps files it does not own (the rendered chart) and removes manifests no chart produces', () => {
    // GIVEN an out dir with a rendered chart and a manifest of a chart that no longer exists
    const outdir = join(work, 'existing');
    mkdirSync(join(outdir, 'helm'), { recursive: true });
    writeFileSync(join(outdir, NATS_RENDERED_FILE), 'rendered: true\n');
    writeFileSync(join(outdir, '0009-gone.k8s.yaml'), 'kind: Gone\n');
    // WHEN synthesized
    expect(synth(outdir).status).toBe(0);
    // THEN the rendered chart survives and the stale manifest is gone
    expect(readFileSync(join(outdir, NATS_RENDERED_FILE), 'utf8')).toBe('rendered: true\n');
    expect(existsSync(join(outdir, '0009-gone.k8s.yaml'))).toBe(false);
    expect(readdirSync(outdir).filter((f) => f.startsWith('.'))).toEqual([]);
  });

  test('bad configuration: names the field, exits 1 without a stack trace, writes nothing', () => {
    // GIVEN a configuration with a NodePort outside the allowed range
    const bad = join(work, 'bad.yaml');
    writeFileSync(bad, 'cluster:\n  ports:\n    nats:\n      nodePort: 80\n');
    const outdir = join(work, 'bad-out');
    // WHEN synthesized
    const run = synth(outdir, { [CONFIG_ENV]: bad });
    // THEN it fails naming the field and the allowed range, and creates no files
    expect(run.status).toBe(1);
    expect(run.stderr).toContain('cluster.ports.nats.nodePort: must be a NodePort within 30000–32767 (got 80)');
    expect(run.stderr).not.toMatch(/\n\s+at /);
    expect(existsSync(outdir)).toBe(false);
  });
});

function isIgnored(path: string): boolean {
  return spawnSync('git', ['check-ignore', '-q', '--no-index', path], { cwd: ROOT }).status === 0;
}

describe('git', () => {
  test('no tracked file holds a private key, as PEM or base64-encoded as in a Secret', () => {
    // Each pattern is spelt with a bracket so that this file does not match itself; git grep exits 1
    // on no match. The base64 ones are the PEM headers of PKCS#8 and PKCS#1 private keys.
    const patterns = ['PRIVATE[ ]KEY', 'LS0tLS1CRUdJTiBQUklWQVRFIEtF[W]', 'LS0tLS1CRUdJTiBSU0EgUFJJVkFURSBLRV[k]'];
    const grep = spawnSync('git', ['grep', '-l', ...patterns.flatMap((p) => ['-e', p])], { cwd: ROOT, encoding: 'utf8' });
    expect(grep.stdout).toBe('');
    expect(grep.status).toBe(1);
  });

  test('keys/ and interrupted writes are ignored', () => {
    expect(isIgnored('keys/ca.key')).toBe(true);
    expect(isIgnored('dist/.0001-nats-tls.k8s.yaml.0123456789ab.tmp')).toBe(true);
  });
});
