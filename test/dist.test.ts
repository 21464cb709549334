import { execFileSync, spawnSync } from 'node:child_process';
import {
  cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { parse, parseAllDocuments } from 'yaml';
import { CONFIG_FILE, NATS_RENDERED_FILE, NATS_VALUES_FILE } from '../lib/config/layout';
import { KUSTOMIZATION_FILE, MANIFEST_SUFFIX, SYNTH_RECORD, SYNTH_STAMP } from '../lib/synth/dist';
import type { ApiObject } from './support/fixtures';
import { copyProject } from './support/project-copy';
import { validateAgainstSchema } from './support/schema';

const ROOT = join(__dirname, '..');
const git = (...args: string[]) => execFileSync('git', args, { cwd: ROOT, encoding: 'utf8' });
const work = mkdtempSync(join(tmpdir(), 'synth-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

let copies = 0;
/** A fresh copy of the project (with the repository's configuration file, if any), as a new clone would be. */
function project(): string {
  const root = copyProject(join(work, `copy-${++copies}`));
  if (existsSync(join(ROOT, CONFIG_FILE))) cpSync(join(ROOT, CONFIG_FILE), join(root, CONFIG_FILE));
  return root;
}

/** Runs `npm run synth`'s command in `root`, under `umask` when given. */
function synth(root: string, env: Record<string, string> = {}, args: string[] = [], umask?: string) {
  const command = [process.execPath, '--require', './scripts/lib/ts-hook.cjs', 'main.ts', ...args];
  const [file, argv] = umask === undefined ? [command[0], command.slice(1)] : ['/bin/sh', ['-c', `umask ${umask} && exec "$@"`, 'sh', ...command]];
  return spawnSync(file, argv, { cwd: root, encoding: 'utf8', env: { ...process.env, K3S_NATS_TLS_CONFIG: '', CDK8S_OUTDIR: '', ...env } });
}

function filesUnder(dir: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isFile())
    .map((entry) => relative(dir, join(entry.parentPath, entry.name)))
    .sort();
}

const mode = (path: string) => statSync(path).mode & 0o777;

function isIgnored(path: string, cwd = ROOT): boolean {
  return spawnSync('git', ['check-ignore', '-q', '--no-index', path], { cwd }).status === 0;
}

const documentsOf = (text: string): ApiObject[] => parseAllDocuments(text).map((document) => document.toJS() as ApiObject).filter(Boolean);

const objectNamed = (objects: ApiObject[], name: string): ApiObject => objects.find((o) => o.metadata.name === name)!;

/** Objects in a stable order, to compare what kustomize prints (in its own order) with the files. */
const sorted = (objects: ApiObject[]): ApiObject[] => {
  const key = (o: ApiObject) => [o.apiVersion, o.kind, o.metadata.namespace ?? '', o.metadata.name].join(' ');
  return [...objects].sort((a, b) => key(a).localeCompare(key(b)));
};

/** The real `kubectl kustomize` (offline: it only reads the folder), as Argo CD, Flux and `kubectl apply -k` build it. */
function kustomize(dir: string): ApiObject[] {
  const output = execFileSync('kubectl', ['kustomize', dir], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 60_000 });
  return documentsOf(output);
}

/** The objects of the manifests (not the kustomization, not the values) among `files` in `dir`. */
const manifestObjects = (dir: string, files: string[]): ApiObject[] =>
  files.filter((file) => file.endsWith(MANIFEST_SUFFIX)).flatMap((file) => documentsOf(readFileSync(join(dir, file), 'utf8')));

describe('npm run synth', () => {
  let first: string;
  let second: string;
  let firstRun: ReturnType<typeof synth>;

  beforeAll(() => {
    first = project();
    firstRun = synth(first);
    // The same PKI in a second clone: everything, the Secret included, must come out byte for byte.
    second = project();
    cpSync(join(first, 'keys'), join(second, 'keys'), { recursive: true });
    synth(second);
  });

  test('succeeds on a fresh checkout, creating the PKI it needs', () => {
    expect(firstRun.stderr).toBe('');
    expect(firstRun.status).toBe(0);
    expect(existsSync(join(first, 'keys', 'ca.crt'))).toBe(true);
    // AND it says what it did
    expect(firstRun.stdout).toMatch(/✔ issued keys\/ca\.crt \(new CA, RSA 2048, 1000 days\)/);
    expect(firstRun.stdout).toContain('✔ synthesized into dist/: 0000-namespaces.k8s.yaml,');
  });

  test('the committed dist/ is exactly what a fresh synth produces', () => {
    // GIVEN the files git tracks under dist/ and a fresh synth
    const tracked = git('ls-files', 'dist').split('\n').filter(Boolean).map((f) => relative('dist', f)).sort();
    const fresh = filesUnder(join(first, 'dist')).filter((f) => !isIgnored(join('dist', f)));
    // THEN the same files exist on both sides, byte for byte
    expect(tracked).toEqual(fresh);
    for (const file of tracked) {
      expect([file, readFileSync(join(first, 'dist', file), 'utf8')]).toEqual([file, readFileSync(join(ROOT, 'dist', file), 'utf8')]);
    }
  });

  test('is byte-identical across clones with the same PKI (but for the git-ignored stamp, which describes each clone\'s files)', () => {
    expect(filesUnder(join(second, 'dist'))).toEqual(filesUnder(join(first, 'dist')));
    expect(isIgnored(join('dist', SYNTH_STAMP))).toBe(true);
    for (const file of filesUnder(join(first, 'dist')).filter((name) => name !== SYNTH_STAMP)) {
      expect(readFileSync(join(second, 'dist', file))).toEqual(readFileSync(join(first, 'dist', file)));
    }
  });

  test('writes the manifests in apply order, the Helm values, its record and its git-ignore file', () => {
    expect(filesUnder(join(first, 'dist'))).toEqual([
      '.gitignore', SYNTH_RECORD, SYNTH_STAMP,
      '0000-namespaces.k8s.yaml', '0001-nats-tls.k8s.yaml', '0002-nats-access.k8s.yaml', '0003-echo.k8s.yaml', NATS_VALUES_FILE, KUSTOMIZATION_FILE,
    ]);
    // AND the kustomization is recorded like every file synth writes, so a later synth owns it
    expect(readFileSync(join(first, 'dist', SYNTH_RECORD), 'utf8').split('\n')).toContain(KUSTOMIZATION_FILE);
    expect(mode(join(first, 'dist', KUSTOMIZATION_FILE))).toBe(0o644);
    expect(isIgnored(join('dist', KUSTOMIZATION_FILE))).toBe(false);
  });

  test('the Secret manifest holds the server key, is owner-only and is git-ignored', () => {
    const secretFile = join(first, 'dist', '0001-nats-tls.k8s.yaml');
    const secret = objectNamed(documentsOf(readFileSync(secretFile, 'utf8')), 'nats-server-tls');
    expect(Buffer.from(secret.data['tls.key'], 'base64').toString()).toMatch(/-----BEGIN (RSA )?PRIVATE[ ]KEY-----/);
    expect(mode(secretFile)).toBe(0o600);
    expect(isIgnored('dist/0001-nats-tls.k8s.yaml')).toBe(true);
    expect(mode(join(first, 'dist', '0003-echo.k8s.yaml'))).toBe(0o644);
  });

  test('the Secret is built from the key pair it checked: its key matches its certificate, which its CA signs', () => {
    const { X509Certificate, createPrivateKey } = require('node:crypto') as typeof import('node:crypto');
    const { data } = objectNamed(documentsOf(readFileSync(join(first, 'dist', '0001-nats-tls.k8s.yaml'), 'utf8')), 'nats-server-tls');
    const pem = (key: string) => Buffer.from(data[key], 'base64').toString();
    const cert = new X509Certificate(pem('tls.crt'));
    expect(cert.checkPrivateKey(createPrivateKey(pem('tls.key')))).toBe(true);
    expect(cert.verify(new X509Certificate(pem('ca.crt')).publicKey)).toBe(true);
    expect(pem('tls.crt')).toBe(readFileSync(join(first, 'keys', 'server.crt'), 'utf8'));
  });

  test('the same git-ignored file holds http-echo\'s kubernetes.io/tls Secret echo-tls, built from keys/echo.*', () => {
    const { X509Certificate, createPrivateKey } = require('node:crypto') as typeof import('node:crypto');
    const secrets = documentsOf(readFileSync(join(first, 'dist', '0001-nats-tls.k8s.yaml'), 'utf8'));
    expect(secrets.map((o) => `${o.kind}/${o.metadata.namespace}/${o.metadata.name}`))
      .toEqual(['Secret/nats/nats-server-tls', 'Secret/default/echo-tls']);
    const echo = secrets[1];
    expect(echo.type).toBe('kubernetes.io/tls');
    const pem = (key: string) => Buffer.from(echo.data[key], 'base64').toString();
    expect(Object.keys(echo.data).sort()).toEqual(['tls.crt', 'tls.key']);
    expect(pem('tls.crt')).toBe(readFileSync(join(first, 'keys', 'echo.crt'), 'utf8'));
    expect(new X509Certificate(pem('tls.crt')).checkPrivateKey(createPrivateKey(pem('tls.key')))).toBe(true);
    // AND the committed manifests never name a key: the HTTPS Ingress only names the Secret
    expect(readFileSync(join(first, 'dist', '0003-echo.k8s.yaml'), 'utf8')).toContain('secretName: echo-tls');
  });

  test('`kubectl kustomize` of a working copy holding the Secret file and a rendered chart builds only the committed objects', () => {
    // GIVEN the fresh synth, whose folder also holds the Secret file, and a rendered chart beside it
    const dist = join(first, 'dist');
    writeFileSync(join(dist, NATS_RENDERED_FILE), 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: rendered\n');
    try {
      // WHEN built THEN neither the Secrets nor the rendering are in it
      const built = kustomize(dist);
      expect(built.map((o) => o.kind)).not.toContain('Secret');
      expect(built.map((o) => o.metadata.name)).not.toContain('rendered');
      expect(sorted(built)).toEqual(sorted(manifestObjects(dist, filesUnder(dist).filter((f) => !isIgnored(join('dist', f))))));
    } finally {
      rmSync(join(dist, NATS_RENDERED_FILE));
    }
  });
});

describe('dist/kustomization.yaml: GitOps tools apply dist/ as it is', () => {
  test('`kubectl kustomize` on the committed files alone yields exactly the committed manifests\' objects, and no Secret', () => {
    // GIVEN what a GitOps tool sees: only the files git tracks under dist/
    const checkout = mkdtempSync(join(work, 'checkout-'));
    const tracked = git('ls-files', 'dist').split('\n').filter(Boolean).map((f) => relative('dist', f));
    for (const file of tracked) {
      mkdirSync(dirname(join(checkout, 'dist', file)), { recursive: true });
      cpSync(join(ROOT, 'dist', file), join(checkout, 'dist', file));
    }
    // WHEN the real kubectl builds it
    const built = kustomize(join(checkout, 'dist'));
    // THEN it is every object of the committed manifests, nothing more, nothing less
    const expected = manifestObjects(join(checkout, 'dist'), tracked);
    expect(expected.length).toBeGreaterThan(0);
    expect(sorted(built)).toEqual(sorted(expected));
    expect(built.filter((o) => o.kind === 'Secret')).toEqual([]);
    // AND it lists exactly the committed manifests, which are every synthesized manifest but the Secret file
    const { resources } = parse(readFileSync(join(checkout, 'dist', KUSTOMIZATION_FILE), 'utf8'));
    expect(resources).toEqual(tracked.filter((file) => file.endsWith(MANIFEST_SUFFIX)).sort());
    expect(resources).toEqual(['0000-namespaces.k8s.yaml', '0002-nats-access.k8s.yaml', '0003-echo.k8s.yaml']);
  });

  test("with nats.install: helmchart it also carries k3s's HelmChart for NATS, schema-valid, with the committed values", () => {
    // GIVEN a clone whose configuration lets k3s install the chart
    const root = project();
    writeFileSync(join(root, CONFIG_FILE), 'nats:\n  install: helmchart\n');
    // WHEN synthesized and built by the real kubectl
    const run = synth(root);
    expect(run.stderr).toBe('');
    expect(run.status).toBe(0);
    const dist = join(root, 'dist');
    const built = kustomize(dist);
    // THEN the build holds the HelmChart in kube-system beside everything else committed, and no Secret
    const helmCharts = built.filter((o) => o.kind === 'HelmChart');
    expect(helmCharts.map((o) => `${o.apiVersion} ${o.metadata.namespace}/${o.metadata.name}`)).toEqual(['helm.cattle.io/v1 kube-system/nats']);
    expect(() => validateAgainstSchema(helmCharts[0])).not.toThrow();
    expect(helmCharts[0].spec)
      .toMatchObject({ chart: 'nats', version: '2.14.2', repo: 'https://nats-io.github.io/k8s/helm/charts/', targetNamespace: 'nats' });
    expect(readFileSync(join(dist, NATS_VALUES_FILE), 'utf8').endsWith(helmCharts[0].spec.valuesContent)).toBe(true);
    expect(built.map((o) => o.kind)).not.toContain('Secret');
    const withoutSecrets = filesUnder(dist).filter((f) => !readFileSync(join(dist, f), 'utf8').includes('kind: Secret'));
    expect(sorted(built)).toEqual(sorted(manifestObjects(dist, withoutSecrets)));
    // AND the HelmChart lives in a committed file, which the git-ignore rules leave alone
    expect(readFileSync(join(dist, '.gitignore'), 'utf8')).not.toContain('0002-nats-access.k8s.yaml');
  });
});

describe('synth owns only what it wrote', () => {
  test('keeps files it does not own (the rendered chart) and removes only recorded manifests no chart produces', () => {
    // GIVEN a synthesized project, a rendered chart, and a recorded manifest of a chart that no longer exists
    const root = project();
    expect(synth(root).status).toBe(0);
    const dist = join(root, 'dist');
    writeFileSync(join(dist, NATS_RENDERED_FILE), 'rendered: true\n');
    writeFileSync(join(dist, '0009-gone.k8s.yaml'), 'kind: Gone\n');
    writeFileSync(join(dist, SYNTH_RECORD), `${readFileSync(join(dist, SYNTH_RECORD), 'utf8')}0009-gone.k8s.yaml\n`);
    // WHEN synthesized again
    expect(synth(root).status).toBe(0);
    // THEN the rendered chart survives and the stale manifest is gone, and no staging folder is left
    expect(readFileSync(join(dist, NATS_RENDERED_FILE), 'utf8')).toBe('rendered: true\n');
    expect(existsSync(join(dist, '0009-gone.k8s.yaml'))).toBe(false);
    expect(readdirSync(dist).filter((f) => f.startsWith('.')).sort()).toEqual(['.gitignore', SYNTH_RECORD, SYNTH_STAMP]);
  });

  test('refuses an output folder holding another team\'s manifest, and deletes nothing', () => {
    // GIVEN CDK8S_OUTDIR names a shared folder holding a manifest synth did not write
    const root = project();
    mkdirSync(join(root, 'shared'));
    writeFileSync(join(root, 'shared', 'other-team.k8s.yaml'), 'kind: Theirs\n');
    // WHEN synthesized into it
    const run = synth(root, { CDK8S_OUTDIR: 'shared' });
    // THEN it refuses in one line naming the setting, the file and the rule; their file and the rest of the project are untouched
    expect(run.status).toBe(1);
    expect(run.stderr.trim()).toMatch(/^✖ CDK8S_OUTDIR 'shared' \(.*other-team\.k8s\.yaml\) holds other-team\.k8s\.yaml, which this tool did not write: choose an empty folder/);
    expect(readdirSync(join(root, 'shared'))).toEqual(['other-team.k8s.yaml']);
    expect(existsSync(join(root, 'keys'))).toBe(false);
  });

  test('a record naming a path outside the folder is refused, not followed', () => {
    const root = project();
    expect(synth(root).status).toBe(0);
    writeFileSync(join(root, 'dist', SYNTH_RECORD), '../package.json\n');
    const run = synth(root);
    expect(run.status).toBe(1);
    expect(run.stderr).toContain("names '../package.json', which is not a file synth writes");
    expect(existsSync(join(root, 'package.json'))).toBe(true);
  });

  test('removes staging folders and temporary files that killed runs left, before anything else', () => {
    // GIVEN a staging folder holding a Secret and temporary files, as a `kill -9` leaves them
    const root = project();
    expect(synth(root).status).toBe(0);
    const dist = join(root, 'dist');
    mkdirSync(join(dist, '.synth-staging-AbC123'), { mode: 0o700 });
    writeFileSync(join(dist, '.synth-staging-AbC123', '0001-nats-tls.k8s.yaml'), 'kind: Secret\n');
    writeFileSync(join(dist, '.0001-nats-tls.k8s.yaml.0123456789ab.tmp'), 'kind: Secret\n');
    writeFileSync(join(root, 'keys', '.ca.key.0123456789ab.tmp'), 'half a key');
    // WHEN synth runs THEN they are gone
    expect(synth(root).status).toBe(0);
    expect(readdirSync(dist).filter((f) => f.startsWith('.')).sort()).toEqual(['.gitignore', SYNTH_RECORD, SYNTH_STAMP]);
    expect(readdirSync(join(root, 'keys')).filter((f) => f.endsWith('.tmp'))).toEqual([]);
  });
});

describe('keys and Secrets can never become committable', () => {
  test('with pki.dir: pki and CDK8S_OUTDIR=out, `git add -A` stages neither a key nor the Secret', () => {
    // GIVEN a clone that moves both folders (both documented settings)
    const root = project();
    writeFileSync(join(root, CONFIG_FILE), 'pki:\n  dir: pki\n');
    cpSync(join(ROOT, '.gitignore'), join(root, '.gitignore'));
    execFileSync('git', ['init', '-q'], { cwd: root });
    // WHEN synthesized and everything is added
    expect(synth(root, { CDK8S_OUTDIR: 'out' }).status).toBe(0);
    const staged = execFileSync('git', ['add', '-A', '--dry-run'], { cwd: root, encoding: 'utf8' });
    // THEN no key, no certificate folder and no Secret is staged, but the committed manifests are
    expect(staged).not.toMatch(/^add 'pki\//m);
    expect(staged).not.toContain('out/0001-nats-tls.k8s.yaml');
    expect(staged).toContain('out/0003-echo.k8s.yaml');
    expect(readdirSync(join(root, 'pki'))).toContain('ca.key');
  });

  test('folders are not group- or world-writable whatever the umask; keys stay owner-only', () => {
    // GIVEN umask 000 WHEN synthesized into a fresh clone
    const root = project();
    expect(synth(root, {}, [], '000').status).toBe(0);
    // THEN dist/ is 0755, keys/ 0700, the Secret and the keys 0600
    expect(mode(join(root, 'dist'))).toBe(0o755);
    expect(mode(join(root, 'dist', 'helm'))).toBe(0o755);
    expect(mode(join(root, 'keys'))).toBe(0o700);
    expect(mode(join(root, 'dist', '0001-nats-tls.k8s.yaml'))).toBe(0o600);
    expect(mode(join(root, 'keys', 'ca.key'))).toBe(0o600);
  });

  test('a reused ca.key readable by others is made owner-only again', () => {
    const root = project();
    expect(synth(root).status).toBe(0);
    const before = readFileSync(join(root, 'keys', 'ca.key'));
    require('node:fs').chmodSync(join(root, 'keys', 'ca.key'), 0o644);
    expect(synth(root).status).toBe(0);
    expect(mode(join(root, 'keys', 'ca.key'))).toBe(0o600);
    expect(readFileSync(join(root, 'keys', 'ca.key'))).toEqual(before);
  });
});

describe('settings that would write outside the project or through a link are refused, and nothing is written', () => {
  const refused = (root: string, run: ReturnType<typeof synth>, message: RegExp) => {
    expect(run.status).toBe(1);
    expect(run.stderr.split('\n').filter((line) => line.startsWith('✖'))).toHaveLength(1);
    expect(run.stderr).toMatch(message);
    expect(run.stderr).not.toMatch(/\n\s+at /);
    expect(existsSync(join(root, 'dist'))).toBe(false);
  };

  test.each([
    ['.', /pki\.dir: must be a folder inside the project, not the project folder itself \(got "\."\)/],
    ['..', /pki\.dir: must stay inside the project folder \(no '\.\.'\) \(got "\.\."\)/],
    ['/etc', /pki\.dir: must be a path relative to the project folder, not an absolute path \(got "\/etc"\)/],
    ['.git/keys', /pki\.dir: must not be inside \.git\//],
    ['charts', /pki\.dir 'charts' \(.*\) holds echo\.ts, which this tool did not write/],
  ])('pki.dir: %s', (dir, message) => {
    const root = project();
    writeFileSync(join(root, CONFIG_FILE), `pki:\n  dir: '${dir}'\n`);
    refused(root, synth(root), message);
    expect(readdirSync(join(root, 'charts')).filter((f) => !f.endsWith('.ts'))).toEqual([]);
  });

  test('a keys/ symbolic link is not followed, and its target is not touched', () => {
    // GIVEN keys/ links to a folder elsewhere
    const root = project();
    const elsewhere = mkdtempSync(join(work, 'elsewhere-'));
    symlinkSync(elsewhere, join(root, 'keys'));
    const before = mode(elsewhere);
    // WHEN synthesized THEN refused; the target keeps its mode and stays empty
    refused(root, synth(root), /✖ pki\.dir 'keys' \(.*keys\) goes through the symbolic link .*keys: use a real folder inside the project/);
    expect(mode(elsewhere)).toBe(before);
    expect(readdirSync(elsewhere)).toEqual([]);
  });

  test('a dangling keys/ link, and a symlinked key file, are refused in one line', () => {
    const root = project();
    symlinkSync(join(work, 'nowhere'), join(root, 'keys'));
    refused(root, synth(root), /goes through the symbolic link/);
    rmSync(join(root, 'keys'));
    mkdirSync(join(root, 'keys'));
    const target = join(work, 'a-key-elsewhere');
    writeFileSync(target, 'x', { mode: 0o644 });
    symlinkSync(target, join(root, 'keys', 'ca.key'));
    refused(root, synth(root), /✖ pki\.dir 'keys' \(.*ca\.key\) holds a symbolic link/);
    expect(mode(target)).toBe(0o644);
  });

  test('CDK8S_OUTDIR naming a file: one line, and no key was issued first', () => {
    const root = project();
    writeFileSync(join(root, 'out'), 'a file');
    refused(root, synth(root, { CDK8S_OUTDIR: 'out' }), /^✖ CDK8S_OUTDIR 'out' \(.*out\) is not a folder/);
    expect(existsSync(join(root, 'keys'))).toBe(false);
  });

  test.each([['/tmp/elsewhere', 'must be a path relative to the project folder'], ['../x', "must stay inside the project folder (no '..')"]])(
    'CDK8S_OUTDIR=%s', (outdir, rule) => {
      const root = project();
      refused(root, synth(root, { CDK8S_OUTDIR: outdir }), new RegExp(`CDK8S_OUTDIR '${outdir.replace(/\./g, '\\.')}' ${rule.replace(/[().]/g, '\\$&')}`));
    },
  );

  test('pki.dir and CDK8S_OUTDIR may not overlap, either inside the other', () => {
    const root = project();
    writeFileSync(join(root, CONFIG_FILE), 'pki:\n  dir: out/keys\n');
    refused(root, synth(root, { CDK8S_OUTDIR: 'out' }), /pki\.dir 'out\/keys' and CDK8S_OUTDIR 'out' overlap/);
    // The manifests inside the keys folder: its .gitignore of * would hide them from git, and the keys would sit beside them
    writeFileSync(join(root, CONFIG_FILE), 'pki:\n  dir: secure\n');
    refused(root, synth(root, { CDK8S_OUTDIR: 'secure/manifests' }), /pki\.dir 'secure' and CDK8S_OUTDIR 'secure\/manifests' overlap/);
    expect(existsSync(join(root, 'secure'))).toBe(false);
  });

  test('a YAML tag it does not know, or a second document, is one ✖ line naming the file, and nothing else is printed', () => {
    const root = project();
    for (const [yaml, problem] of [
      ['echo:\n  text: !shout hello\n', 'line 2, column 9: unknown YAML tag !shout: remove it, the configuration takes plain YAML values'],
      ['echo:\n  text: a\n---\necho:\n  text: b\n', "holds more than one YAML document (the second starts at line 3): keep one, with no '---' line between settings"],
    ]) {
      writeFileSync(join(root, CONFIG_FILE), yaml);
      const run = synth(root);
      refused(root, run, /./);
      expect(run.stderr).toBe(`✖ Invalid configuration in ${join(root, CONFIG_FILE)}: ${problem}\n`);
    }
  });

  test('bad configuration: names the field, exits 1 without a stack trace, writes nothing', () => {
    const root = project();
    writeFileSync(join(root, CONFIG_FILE), 'cluster:\n  ports:\n    nats:\n      nodePort: 80\n');
    refused(root, synth(root), /cluster\.ports\.nats\.nodePort: must be a NodePort within 30000–32767 \(got 80\)/);
    expect(existsSync(join(root, 'keys'))).toBe(false);
  });

  test('--help answers, and an unknown flag is refused with exit 2, before anything is written', () => {
    const root = project();
    const help = synth(root, {}, ['--help']);
    expect(help.status).toBe(0);
    expect(help.stdout).toMatch(/^Usage: npm run synth/);
    const bogus = synth(root, {}, ['--bogus']);
    expect(bogus.status).toBe(2);
    expect(bogus.stderr).toMatch(/^✖ unknown flag --bogus/);
    expect(existsSync(join(root, 'keys'))).toBe(false);
    expect(existsSync(join(root, 'dist'))).toBe(false);
  });
});

describe('git', () => {
  test('no tracked file holds a private key, as PEM or base64-encoded as in a Secret', () => {
    // Each pattern is spelt with a bracket so that this file does not match itself; git grep exits 1
    // on no match. The base64 ones are the PEM headers of PKCS#8 and PKCS#1 private keys, at each of
    // the three offsets base64 can start a header at.
    const patterns = [
      'PRIVATE[ ]KEY', 'LS0tLS1CRUdJTiBQUklWQVRFIEtF[W]', 'LS0tLS1CRUdJTiBSU0EgUFJJVkFURSBLRV[k]',
      'UFJJVkFURSBLRV[k]', 'SVZBVEUgS0V[Z]', 'UklWQVRFIEtF[W]',
    ];
    const grep = spawnSync('git', ['grep', '-l', ...patterns.flatMap((p) => ['-e', p])], { cwd: ROOT, encoding: 'utf8' });
    expect(grep.stdout).toBe('');
    expect(grep.status).toBe(1);
  });

  test('keys/, the Secret and interrupted writes are ignored', () => {
    expect(isIgnored('keys/ca.key')).toBe(true);
    expect(isIgnored('dist/0001-nats-tls.k8s.yaml')).toBe(true);
    expect(isIgnored('dist/.0001-nats-tls.k8s.yaml.0123456789ab.tmp')).toBe(true);
    expect(isIgnored('dist/.synth-staging-AbC123/0001-nats-tls.k8s.yaml')).toBe(true);
  });
});
