import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import type { ScriptResult } from './support/project-copy';
import {
  applies, completed, CREATE, GET_CONTEXTS, LIST, PROBES, removeSandboxes, RENDER, rollouts, sandbox, tree, UP_STEPS, VERIFY,
} from './support/sandbox';

// scripts/up.mjs runs as a user runs it (node, real zx, real PKI and synth) in a copy of the
// project, against stand-in docker/k3d/kubectl/helm and a stand-in scripts/verify.mjs.
afterAll(removeSandboxes);

// These cases follow one project through its life, in order: deploy, look, redeploy, change.
describe('up: from nothing to a verified deployment, then again', () => {
  const box = sandbox();
  let first: ScriptResult;
  beforeAll(async () => {
    // GIVEN a fresh project and no k3d cluster WHEN up runs
    first = await box.up();
  });

  test('first run creates the cluster, issues the keys, renders, applies in order, waits and verifies', () => {
    // THEN it succeeds and calls exactly these commands, in this order
    expect(first.stderr).toBe('');
    expect(first.code).toBe(0);
    expect(box.calls()).toEqual([...PROBES, LIST, CREATE, RENDER, ...applies('k3d-dev'), ...rollouts('k3d-dev'), VERIFY]);
    expect(completed(first)).toEqual(UP_STEPS);
    // ... the keys, the manifests and the rendering headed by its provenance are in the project
    for (const file of ['ca.crt', 'ca.key', 'server.crt', 'server.key', 'client1.crt', 'client1.key', 'client2.crt', 'client2.key']) {
      expect(existsSync(join(box.root, 'keys', file))).toBe(true);
    }
    const rendered = readFileSync(join(box.root, 'dist/helm/nats.yaml'), 'utf8');
    const valuesHash = createHash('sha256').update(readFileSync(join(box.root, 'dist/helm/nats-values.yaml'))).digest('hex');
    expect(rendered).toMatch(/^# NATS Helm chart nats 2\.14\.2 from https:\/\/nats-io\.github\.io\/k8s\/helm\/charts\/, release nats in namespace nats,\n/);
    expect(rendered).toContain(`nats-values.yaml sha256:${valuesHash}`);
    expect(rendered).toContain('kind: StatefulSet\nmetadata:\n  name: nats\n  namespace: nats');
    // ... and the summary tells where echo answers and how to prove the NATS mapping
    expect(first.stdout).toContain('curl http://localhost:8080');
    expect(first.stdout).toContain('nats -s tls://localhost:4222 --tlscert keys/client1.crt --tlskey keys/client1.key --tlsca keys/ca.crt pub say hi    # client1: works');
    expect(first.stdout).toContain('nats -s tls://localhost:4222 --tlscert keys/client2.crt --tlskey keys/client2.key --tlsca keys/ca.crt pub say hi    # client2: refused');
  });

  test('--dry-run on the deployed project writes nothing, probes only, and lists the real files', async () => {
    // GIVEN the deployed project WHEN up --dry-run runs
    box.clearCalls();
    const before = tree(box.root);
    const result = await box.up(['--dry-run']);
    // THEN no file changed, only read-only commands ran, and the plan names every manifest
    expect(result.code).toBe(0);
    expect(box.calls()).toEqual([...PROBES, LIST]);
    expect(tree(box.root)).toEqual(before);
    for (const apply of applies('k3d-dev')) expect(result.stdout).toContain(`would run: ${apply}`);
    expect(result.stdout).toContain('dist/helm/nats.yaml is current');
  });

  test('second run reuses cluster, keys and rendering: apply, wait and verify only', async () => {
    // GIVEN the deployed project WHEN up runs again
    box.clearCalls();
    const keys = tree(join(box.root, 'keys'));
    const rendered = readFileSync(join(box.root, 'dist/helm/nats.yaml'), 'utf8');
    const second = await box.up();
    // THEN no create, no render; the same keys and rendering
    expect(second.code).toBe(0);
    expect(box.calls()).toEqual([...PROBES, LIST, ...applies('k3d-dev'), ...rollouts('k3d-dev'), VERIFY]);
    expect(second.stdout).toContain('reusing k3d cluster dev\n');
    expect(second.stdout).toContain('0 file(s) issued, 10 reused');
    expect(tree(join(box.root, 'keys'))).toEqual(keys);
    expect(readFileSync(join(box.root, 'dist/helm/nats.yaml'), 'utf8')).toBe(rendered);
  });

  test('--dry-run after a change of the Helm values says the chart would be re-rendered', async () => {
    // GIVEN a third, authorized identity in the configuration (so the users in the values change)
    writeFileSync(join(box.root, 'k3s-nats-tls.yaml'), [
      'pki:', '  identities:',
      '    - { name: client1, email: client1@example.com, authorized: true }',
      '    - { name: client2 }',
      '    - { name: client3, email: client3@example.com, authorized: true }', '',
    ].join('\n'));
    box.clearCalls();
    // WHEN up --dry-run runs (synth does not run, so dist/helm/nats-values.yaml is still the old one)
    const result = await box.up(['--dry-run']);
    // THEN the old rendering is not called current: helm would run
    expect(result.code).toBe(0);
    expect(result.stdout).toContain(`would run: ${RENDER}`);
    expect(result.stdout).not.toContain('is current');
    expect(box.calls()).toEqual([...PROBES, LIST]);
  });

  test('a new chart version in the configuration re-renders the chart', async () => {
    // GIVEN the configuration now pins chart 2.14.1 WHEN up runs (without verify)
    writeFileSync(join(box.root, 'k3s-nats-tls.yaml'), 'nats:\n  chart:\n    version: 2.14.1\n');
    box.clearCalls();
    const result = await box.up(['--no-verify']);
    // THEN helm renders that version and nothing calls verify
    expect(result.code).toBe(0);
    expect(box.calls()).toEqual([...PROBES, LIST, RENDER.replace('2.14.2', '2.14.1'), ...applies('k3d-dev'), ...rollouts('k3d-dev')]);
    expect(readFileSync(join(box.root, 'dist/helm/nats.yaml'), 'utf8')).toMatch(/^# NATS Helm chart nats 2\.14\.1 /);
  });
});

describe('up: other starting points', () => {
  test.concurrent('an existing cluster with other port mappings is reused with a warning, not re-created', async () => {
    // GIVEN k3d already has a cluster "dev" publishing 9080 instead of 8080
    const box = sandbox();
    box.fake.setClusters([{ name: 'dev', serversRunning: 1, nodes: [{ role: 'loadbalancer', portMappings: {
      '80/tcp': [{ HostIp: '0.0.0.0', HostPort: '9080' }], '443/tcp': [{ HostPort: '8443' }], '31400/tcp': [{ HostPort: '4222' }],
    } }] }]);
    // WHEN up runs THEN it names the differing field, does not create, and deploys
    const result = await box.up(['--no-verify']);
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('⚠ cluster.ports.http: want host 8080 → 80, cluster has nothing on host 8080');
    expect(result.stdout).toContain('run `npx zx scripts/down.mjs` and up again to re-create it');
    expect(box.calls()).not.toContain(CREATE);
    expect(box.calls()).toContain('kubectl --context k3d-dev apply -f dist/helm/nats.yaml');
  });

  test.concurrent('a stopped cluster is started, not re-created', async () => {
    // GIVEN k3d has cluster "dev" with the configured mappings, stopped
    const box = sandbox();
    box.fake.setClusters([{ name: 'dev', serversRunning: 0, nodes: [{ role: 'loadbalancer', portMappings: {
      '80/tcp': [{ HostPort: '8080' }], '443/tcp': [{ HostPort: '8443' }], '31400/tcp': [{ HostPort: '4222' }],
    } }] }]);
    // WHEN up runs THEN it starts the cluster and deploys, without a create or a drift warning
    const result = await box.up(['--no-verify']);
    expect(result.code).toBe(0);
    expect(box.calls().slice(0, 6)).toEqual([...PROBES, LIST, 'k3d cluster start dev --wait']);
    expect(box.calls()).not.toContain(CREATE);
    expect(result.stdout).not.toContain('⚠');
  });

  test.concurrent('--context deploys to that context without docker or k3d', async () => {
    // GIVEN a machine with only kubectl and helm
    const box = sandbox(['kubectl', 'helm']);
    // WHEN up runs against an existing context, without the end-to-end check
    const result = await box.up(['--context', 'staging', '--no-verify']);
    // THEN k3d is never asked, everything targets that context, and verify does not run
    expect(result.code).toBe(0);
    expect(box.calls()).toEqual(['kubectl version --client', 'helm version --short', GET_CONTEXTS, RENDER, ...applies('staging'), ...rollouts('staging')]);
    expect(result.stdout).toContain('using kubectl context staging (k3d not used)');
    expect(result.stdout).not.toContain('✔ Verify');
    expect(result.stdout).toContain('npx zx scripts/down.mjs --context staging');
  });

  test.concurrent('--context with a name kubectl does not know stops before anything is deployed', async () => {
    // GIVEN kubectl knows k3d-dev and staging WHEN up runs with a typo
    const box = sandbox(['kubectl', 'helm']);
    const result = await box.up(['--context', 'stagign']);
    // THEN the Cluster step fails naming the context and the known ones, and nothing after it ran
    expect(result.code).toBe(1);
    expect(result.stderr).toContain("✖ Cluster failed: kubectl has no context 'stagign' (it knows: k3d-dev, staging)");
    expect(box.calls()).toEqual(['kubectl version --client', 'helm version --short', GET_CONTEXTS]);
    expect(existsSync(join(box.root, 'keys'))).toBe(false);
  });

  test.concurrent('K3S_NATS_TLS_CONFIG and CDK8S_OUTDIR move keys and manifests out of the project', async () => {
    // GIVEN a configuration file elsewhere that puts the PKI in another folder, and another dist/
    const box = sandbox();
    const outside = mkdtempSync(join(tmpdir(), 'k3s-nats-tls-outside-'));
    const keys = join(outside, 'pki');
    const dist = join(outside, 'out');
    writeFileSync(join(outside, 'config.yaml'), `pki:\n  dir: ${keys}\n`);
    try {
      // WHEN up runs with both variables
      const result = await box.up([], { K3S_NATS_TLS_CONFIG: join(outside, 'config.yaml'), CDK8S_OUTDIR: dist });
      // THEN keys, manifests and rendering land there, and every command points there
      expect(result.code).toBe(0);
      const shown = relative(box.root, dist);
      expect(box.calls()).toEqual([
        ...PROBES, LIST, CREATE, RENDER.replace('dist/', `${shown}/`),
        ...applies('k3d-dev').map((call) => call.replace('dist/', `${shown}/`)), ...rollouts('k3d-dev'),
        VERIFY.replace('--keys keys', `--keys ${keys}`),
      ]);
      expect(existsSync(join(keys, 'client1.key'))).toBe(true);
      expect(existsSync(join(dist, 'helm', 'nats.yaml'))).toBe(true);
      expect(existsSync(join(box.root, 'keys'))).toBe(false);
      expect(existsSync(join(box.root, 'dist'))).toBe(false);
      expect(result.stdout).toContain(`--tlscert ${keys}/client1.crt --tlskey ${keys}/client1.key --tlsca ${keys}/ca.crt pub say hi`);
    } finally {
      rmSync(outside, { recursive: true, force: true });
    }
  });

  test.concurrent('--dry-run from nothing prints the plan, writes nothing and calls only read-only probes', async () => {
    // GIVEN a fresh project
    const box = sandbox();
    const before = tree(box.root);
    // WHEN up --dry-run runs
    const result = await box.up(['--dry-run']);
    // THEN every change is printed, not made
    expect(result.code).toBe(0);
    expect(box.calls()).toEqual([...PROBES, LIST]);
    expect(tree(box.root)).toEqual(before);
    for (const line of [
      `would run: ${CREATE}`,
      'would issue or reuse the CA, server and client certificates in keys/',
      'would run: npm run synth (node --require sucrase/register/ts main.ts)',
      `would run: ${RENDER}`,
      'would write dist/helm/nats.yaml',
      'would run: kubectl --context k3d-dev apply -f dist/…k8s.yaml for each file synth writes',
      'would run: kubectl --context k3d-dev apply -f dist/helm/nats.yaml',
      `would run: ${rollouts('k3d-dev')[0]}`,
      `would run: node scripts/verify.mjs ${VERIFY.slice('verify '.length)}`,
    ]) expect(result.stdout).toContain(line);
    expect(result.stdout).toContain('Dry run: nothing was changed.');
  });
});

describe('up: flags', () => {
  test.concurrent.each([
    [['--dry-rn'], /unknown flag --dry-rn/],
    [['--context'], /--context needs a value/],
    [['deploy'], /unexpected argument\(s\): deploy/],
  ])('%p is refused before anything runs', async (args, message) => {
    const box = sandbox();
    const result = await box.up(args);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(message);
    expect(result.stderr).toContain('Usage: npx zx scripts/up.mjs');
    expect(box.calls()).toEqual([]);
  });

  test.concurrent('--help prints the usage and runs nothing', async () => {
    const box = sandbox();
    const result = await box.up(['--help']);
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/^Usage: npx zx scripts\/up\.mjs \[--dry-run\] \[--no-verify\] \[--context NAME\]/);
    expect(box.calls()).toEqual([]);
  });
});
