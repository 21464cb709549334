import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseAllDocuments, stringify as stringifyYaml } from 'yaml';
import { parseConfig } from '../lib/config/config';
import { plannedStack } from '../lib/synth/stack';
import type { ApiObject } from './support/fixtures';
import type { ScriptResult } from './support/project-copy';
import {
  applies, completed, CREATE, diffs, GET_CONTEXTS, HELMCHART_ALLOWLIST, HELMCHARTS, kubectl, LIST, MANIFESTS, PROBES, pruning, removeSandboxes,
  render, NATS_NAMESPACE_JSON, rollouts, sandbox, START, tree, UP_STEPS, VERIFY, withIssuedKeys,
} from './support/sandbox';

// scripts/up.mjs runs as a user runs it (node, real zx, real PKI and synth) in a copy of the
// project, against stand-in docker/k3d/kubectl/helm and a stand-in scripts/verify.mjs.
afterAll(removeSandboxes);

// A full up costs about 2 s of CPU (node and zx, synth in its own node, and 0.5–2.5 s to issue
// keys unless a test seeds them); jest starts the concurrent tests together with the first
// describe's runs, so on a busy 2-core machine one test may wait for a dozen others. Measured:
// the slowest test took 25 s with two copies of the suite running at once.
jest.setTimeout(180_000);

/** The load balancer's port mappings of a cluster made from the default configuration. */
const DEFAULT_MAPPINGS = { '80/tcp': [{ HostPort: '8080' }], '443/tcp': [{ HostPort: '8443' }], '31400/tcp': [{ HostPort: '4222' }] };
const RUNNING = { Running: true, Status: 'running' };
const STOPPED = { Running: false, Status: 'exited' };

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
    expect(box.calls()).toEqual([...PROBES, LIST, CREATE, GET_CONTEXTS, render(box.root), ...applies('k3d-dev'), ...rollouts('k3d-dev'), VERIFY]);
    expect(completed(first)).toEqual(UP_STEPS);
    // ... helm ran in a scratch folder, which is gone; every other tool at the project root
    const calls = box.fake.calls();
    const helm = calls.find((call) => call.tool === 'helm' && call.args[0] === 'template')!;
    expect(helm.cwd).not.toBe(box.root);
    expect(existsSync(helm.cwd)).toBe(false);
    expect(calls.filter((call) => call !== helm && call.tool !== 'verify').every((call) => call.cwd === box.root)).toBe(true);
    // ... the keys, the manifests and the rendering headed by its provenance are in the project
    for (const file of ['ca.crt', 'ca.key', 'server.crt', 'server.key', 'client1.crt', 'client1.key', 'client2.crt', 'client2.key']) {
      expect(existsSync(join(box.root, 'keys', file))).toBe(true);
    }
    const rendered = readFileSync(join(box.root, 'dist/helm/nats.yaml'), 'utf8');
    const valuesHash = createHash('sha256').update(readFileSync(join(box.root, 'dist/helm/nats-values.yaml'))).digest('hex');
    expect(rendered).toMatch(/^# NATS Helm chart nats 2\.14\.2 from https:\/\/nats-io\.github\.io\/k8s\/helm\/charts\/, release nats in namespace nats,\n/);
    expect(rendered).toContain(`nats-values.yaml sha256:${valuesHash}`);
    expect(rendered).toContain('kind: StatefulSet\nmetadata:\n  name: nats\n  namespace: nats');
    expect(rendered).toContain('kind: ConfigMap\nmetadata:\n  name: nats-config\n');
    // ... and the summary tells where echo answers and how to prove the NATS mapping
    expect(first.stdout).toContain('curl http://localhost:8080');
    expect(first.stdout).toContain('nats -s tls://localhost:4222 --tlscert keys/client1.crt --tlskey keys/client1.key --tlsca keys/ca.crt pub say hi    # client1: works');
    expect(first.stdout).toContain('nats -s tls://localhost:4222 --tlscert keys/client1.crt --tlskey keys/client1.key pub say hi    # client1 without --tlsca: refused');
    expect(first.stdout).toContain('nats -s tls://localhost:4222 --tlscert keys/client2.crt --tlskey keys/client2.key --tlsca keys/ca.crt pub say hi    # client2: refused');
  });

  test('--dry-run on the deployed project writes nothing, probes only, and lists the real files', async () => {
    // GIVEN the deployed project WHEN up --dry-run runs
    box.clearCalls();
    const before = tree(box.root);
    const result = await box.up(['--dry-run']);
    // THEN no file changed, only read-only commands ran, and the plan names every manifest
    expect(result.code).toBe(0);
    expect(box.calls()).toEqual([...PROBES, LIST, GET_CONTEXTS, HELMCHARTS('k3d-dev')]);
    expect(tree(box.root)).toEqual(before);
    for (const apply of applies('k3d-dev').slice(1)) expect(result.stdout).toContain(`would run: ${apply}`);
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
    expect(box.calls()).toEqual([...PROBES, LIST, GET_CONTEXTS, HELMCHARTS('k3d-dev'), ...applies('k3d-dev'), ...rollouts('k3d-dev'), VERIFY]);
    expect(second.stdout).toContain('reusing k3d cluster dev\n');
    // AND synth's stamp says nothing changed: neither the PKI nor dist/ is checked or written again
    expect(second.stdout).toContain('✔ Certificates — 0 file(s) issued, 10 reused in keys/ (unchanged since the last synth)\n');
    expect(second.stdout).toContain('✔ Manifests — dist/ is up to date (6 file(s), nothing changed since the last synth)\n');
    expect(tree(join(box.root, 'keys'))).toEqual(keys);
    expect(readFileSync(join(box.root, 'dist/helm/nats.yaml'), 'utf8')).toBe(rendered);
  });

  test('a rendering cut short under a current header is rendered again, not applied as is', async () => {
    // GIVEN dist/helm/nats.yaml keeps its header but lost everything after the ConfigMap
    const file = join(box.root, 'dist/helm/nats.yaml');
    const rendered = readFileSync(file, 'utf8');
    const cut = rendered.indexOf('\n---', rendered.indexOf('kind: ConfigMap')) + 1;
    expect(cut).toBeGreaterThan(0);
    writeFileSync(file, rendered.slice(0, cut));
    box.clearCalls();
    // WHEN up --dry-run runs THEN helm would render the chart again
    const result = await box.up(['--dry-run']);
    expect(result.code).toBe(0);
    expect(result.stdout).toContain(`would run: ${render(box.root)}`);
    expect(result.stdout).not.toContain('is current');
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
    expect(result.stdout).toContain(`would run: ${render(box.root)}`);
    expect(result.stdout).not.toContain('is current');
    expect(box.calls()).toEqual([...PROBES, LIST, GET_CONTEXTS, HELMCHARTS('k3d-dev')]);
  });

  test('a new chart version in the configuration re-renders the chart', async () => {
    // GIVEN the configuration now pins chart 2.14.0 (the release before 2.14.2) WHEN up runs (without verify)
    writeFileSync(join(box.root, 'k3s-nats-tls.yaml'), 'nats:\n  chart:\n    version: 2.14.0\n');
    box.clearCalls();
    const result = await box.up(['--no-verify']);
    // THEN helm renders that version and nothing calls verify
    expect(result.code).toBe(0);
    expect(box.calls()).toEqual([
      ...PROBES, LIST, GET_CONTEXTS, render(box.root).replace('2.14.2', '2.14.0'), HELMCHARTS('k3d-dev'), ...applies('k3d-dev'), ...rollouts('k3d-dev'),
    ]);
    expect(readFileSync(join(box.root, 'dist/helm/nats.yaml'), 'utf8')).toMatch(/^# NATS Helm chart nats 2\.14\.0 /);
  });
});

describe('up: other starting points', () => {
  test.concurrent('agents are created once, and the cluster they belong to is then reused without a warning', async () => {
    // GIVEN a configuration with two agents and no cluster yet
    const box = await withIssuedKeys(sandbox());
    writeFileSync(join(box.root, 'k3s-nats-tls.yaml'), 'cluster:\n  agents: 2\n');
    // WHEN up runs twice
    const first = await box.up(['--no-verify']);
    const second = await box.up(['--no-verify']);
    // THEN the first creates the cluster with the agents, the second reuses it as it is
    expect(first.code).toBe(0);
    expect(box.calls()).toContain(CREATE.replace('--image rancher/k3s:v1.36.3-k3s1 ', '--image rancher/k3s:v1.36.3-k3s1 --agents 2 '));
    expect(first.stdout).toContain('created k3d cluster dev (rancher/k3s:v1.36.3-k3s1, 2 agent(s), ');
    expect(second.code).toBe(0);
    expect(second.stdout).toContain('✔ Cluster — reusing k3d cluster dev\n');
    expect(second.stdout).not.toContain('⚠');
  });

  test.concurrent('an existing cluster with fewer agents than configured is reused with a warning', async () => {
    // GIVEN k3d's cluster "dev" was created without agents, and the configuration now asks for two
    const box = await withIssuedKeys(sandbox());
    box.fake.setClusters([{ name: 'dev', serversRunning: 1, agentsCount: 0, nodes: [
      { name: 'k3d-dev-serverlb', role: 'loadbalancer', State: RUNNING, portMappings: DEFAULT_MAPPINGS },
    ] }]);
    writeFileSync(join(box.root, 'k3s-nats-tls.yaml'), 'cluster:\n  agents: 2\n');
    // WHEN up runs THEN it names the difference and how to get the agents, and deploys
    const result = await box.up(['--no-verify']);
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('⚠ cluster.agents: want 2 agent(s), cluster has 0');
    expect(result.stdout).toContain('run `npx zx scripts/down.mjs` and up again to re-create it');
    expect(box.calls()).not.toContain(CREATE);
  });

  test.concurrent('an existing cluster with other port mappings is reused with a warning, not re-created', async () => {
    // GIVEN k3d already has a running cluster "dev" publishing 9080 instead of 8080
    const box = await withIssuedKeys(sandbox());
    box.fake.setClusters([{ name: 'dev', serversRunning: 1, nodes: [{ role: 'loadbalancer', State: RUNNING, portMappings: {
      '80/tcp': [{ HostIp: '0.0.0.0', HostPort: '9080' }], '443/tcp': [{ HostPort: '8443' }], '31400/tcp': [{ HostPort: '4222' }],
    } }] }]);
    // WHEN up runs THEN it names the differing field, does not create, and deploys
    const result = await box.up(['--no-verify']);
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('⚠ cluster.ports.http: want host 8080 → 80, cluster has nothing on host 8080');
    expect(result.stdout).toContain('run `npx zx scripts/down.mjs` and up again to re-create it');
    expect(box.calls()).not.toContain(CREATE);
    expect(box.calls()).not.toContain(START);
    expect(box.calls()).toContain(applies('k3d-dev')[0]);
  });

  test.concurrent('a cluster whose load balancer is stopped is started, although its server runs', async () => {
    // GIVEN k3d has cluster "dev" with the configured mappings, its server running and its load
    // balancer (which publishes every port) stopped: serversRunning says 1 of 1
    const box = await withIssuedKeys(sandbox());
    box.fake.setClusters([{ name: 'dev', serversCount: 1, serversRunning: 1, nodes: [
      { name: 'k3d-dev-server-0', role: 'server', State: RUNNING, portMappings: {} },
      { name: 'k3d-dev-serverlb', role: 'loadbalancer', State: STOPPED, portMappings: DEFAULT_MAPPINGS },
    ] }]);
    // WHEN up runs THEN it starts the cluster and deploys, without a create or a drift warning
    const result = await box.up(['--no-verify']);
    expect(result.code).toBe(0);
    expect(box.calls().slice(0, 7)).toEqual([...PROBES, LIST, START, GET_CONTEXTS]);
    expect(box.calls()).not.toContain(CREATE);
    expect(result.stdout).toContain('✔ Cluster — reusing k3d cluster dev (started k3d-dev-serverlb)');
    expect(result.stdout).not.toContain('⚠');
  });

  test.concurrent('--dry-run with a stopped cluster only says it would start it', async () => {
    // GIVEN k3d's cluster "dev" is stopped (`k3d cluster stop dev`)
    const box = sandbox();
    box.fake.setClusters([{ name: 'dev', serversCount: 1, serversRunning: 0, nodes: [
      { name: 'k3d-dev-server-0', role: 'server', State: STOPPED, portMappings: {} },
      { name: 'k3d-dev-serverlb', role: 'loadbalancer', State: STOPPED, portMappings: DEFAULT_MAPPINGS },
    ] }]);
    // WHEN up --dry-run runs THEN the start is printed, not run: only read-only probes ran
    const result = await box.up(['--dry-run']);
    expect(result.code).toBe(0);
    expect(box.calls()).toEqual([...PROBES, LIST, GET_CONTEXTS, HELMCHARTS('k3d-dev')]);
    expect(result.stdout).toContain(`would run: ${START}`);
  });

  test.concurrent('LOG_LEVEL=debug in the environment does not reach k3d, whose JSON stays readable', async () => {
    // GIVEN a shell with LOG_LEVEL=debug (k3d then logs to stdout) and an existing cluster
    const box = sandbox();
    box.fake.setClusters([{
      name: 'dev', serversRunning: 1, nodes: [{ name: 'k3d-dev-serverlb', role: 'loadbalancer', State: RUNNING, portMappings: DEFAULT_MAPPINGS }],
    }]);
    // WHEN up --dry-run runs THEN the cluster list is read and the cluster reused
    const result = await box.up(['--dry-run'], { LOG_LEVEL: 'debug' });
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('✔ Cluster — reusing k3d cluster dev\n');
  });

  test.concurrent('--context deploys to that context without docker or k3d', async () => {
    // GIVEN a machine with only kubectl and helm
    const box = await withIssuedKeys(sandbox(['kubectl', 'helm']));
    // WHEN up runs against an existing context, without the end-to-end check
    const result = await box.up(['--context', 'staging', '--no-verify']);
    // THEN k3d is never asked, everything targets that context, and verify does not run
    expect(result.code).toBe(0);
    expect(box.calls()).toEqual([
      'kubectl version --client', 'helm version --short', GET_CONTEXTS, render(box.root), HELMCHARTS('staging'), ...applies('staging'),
      ...rollouts('staging'),
    ]);
    expect(result.stdout).toContain('using kubectl context staging (k3d not used)');
    expect(result.stdout).not.toContain('✔ Verify');
    expect(result.stdout).toContain('Tear down:  npx zx scripts/down.mjs --context staging\n');
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

  test.concurrent('K3S_NATS_TLS_CONFIG and CDK8S_OUTDIR move keys and manifests to other folders of the project', async () => {
    // GIVEN a configuration file elsewhere that puts the PKI in another project folder, and another output folder
    const box = sandbox();
    const outside = mkdtempSync(join(tmpdir(), 'k3s-nats-tls-outside-'));
    writeFileSync(join(outside, 'config.yaml'), 'pki:\n  dir: secrets/pki\n');
    const keys = join(box.root, 'secrets', 'pki');
    const dist = join(box.root, 'out');
    try {
      // WHEN up runs with both variables
      const result = await box.up([], { K3S_NATS_TLS_CONFIG: join(outside, 'config.yaml'), CDK8S_OUTDIR: 'out' });
      // THEN keys, manifests and rendering land there, and every command points there
      expect(result.code).toBe(0);
      expect(box.calls()).toEqual([
        ...PROBES, LIST, CREATE, GET_CONTEXTS, render(box.root, join(dist, 'helm/nats-values.yaml')),
        ...applies('k3d-dev').map((call) => call.replaceAll(' dist/', ' out/')), ...rollouts('k3d-dev'),
        VERIFY.replace('--keys keys', '--keys secrets/pki'),
      ]);
      expect(existsSync(join(keys, 'client1.key'))).toBe(true);
      expect(existsSync(join(dist, 'helm', 'nats.yaml'))).toBe(true);
      expect(existsSync(join(box.root, 'keys'))).toBe(false);
      expect(existsSync(join(box.root, 'dist'))).toBe(false);
      expect(result.stdout).toContain('--tlscert secrets/pki/client1.crt --tlskey secrets/pki/client1.key --tlsca secrets/pki/ca.crt pub say hi');
    } finally {
      rmSync(outside, { recursive: true, force: true });
    }
  });

  test.concurrent('a PKI folder or output folder outside the project is refused before anything changes', async () => {
    // GIVEN CDK8S_OUTDIR names a folder outside the project
    const box = sandbox();
    const outside = mkdtempSync(join(tmpdir(), 'k3s-nats-tls-outside-'));
    try {
      const before = tree(box.root);
      // WHEN up runs THEN it fails naming the setting and the rule; nothing is created or deployed
      const result = await box.up([], { CDK8S_OUTDIR: outside });
      expect(result.code).toBe(1);
      expect(result.stderr).toContain(
        `✖ Configuration failed: CDK8S_OUTDIR '${outside}' must be a path relative to the project folder, not an absolute path.`,
      );
      expect(result.stderr).not.toMatch(/\n\s+at /);
      expect(box.calls().filter((call) => /create|apply|template/.test(call))).toEqual([]);
      expect(tree(box.root)).toEqual(before);
      expect(readdirSync(outside)).toEqual([]);
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
      'would synthesize dist/ (as npm run synth)',
      `would run: ${render(box.root)}`,
      'would write dist/helm/nats.yaml',
      `would run: ${kubectl('k3d-dev', pruning('apply', []))} -f dist/<file> for each file synth writes, in lexical order, then -f dist/helm/nats.yaml`,
      `would run: ${rollouts('k3d-dev')[0]}`,
      `would run: node scripts/verify.mjs ${VERIFY.slice('verify '.length)}`,
    ]) expect(result.stdout).toContain(line);
    expect(result.stdout).toContain('Dry run: nothing was changed.');
  });
});

describe('up: a context name with a space, and a ./nats folder in the project', () => {
  // One deployment, looked at from two sides.
  const box = sandbox(['kubectl', 'helm']);
  let result: ScriptResult;
  beforeAll(async () => {
    // GIVEN kubectl knows a context "team a", and the project holds a folder named like the chart
    await withIssuedKeys(box);
    mkdirSync(join(box.root, 'nats'));
    writeFileSync(join(box.root, 'nats', 'notes.md'), 'my NATS notes\n');
    // WHEN up deploys to that context
    result = await box.up(['--context', 'team a', '--no-verify'], { FAKE_KUBE_CONTEXTS: 'k3d-dev,team a' });
  });

  test('helm renders the chart from --repo in an empty folder, not ./nats', () => {
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    const helm = box.fake.calls().find((call) => call.tool === 'helm' && call.args[0] === 'template')!;
    expect(helm.args).toContain(join(box.root, 'dist/helm/nats-values.yaml'));
    expect(helm.cwd).not.toBe(box.root);
    expect(existsSync(helm.cwd)).toBe(false);
  });

  test('the context reaches kubectl as one argument, and the tear-down line quotes it', () => {
    const contexts = box.fake.calls().filter((call) => call.tool === 'kubectl' && call.args[0] === '--context').map((call) => call.args[1]);
    expect(contexts.length).toBe([HELMCHARTS('x'), ...applies('x'), ...rollouts('x')].length);
    expect(new Set(contexts)).toEqual(new Set(['team a']));
    expect(result.stdout).toContain("Tear down:  npx zx scripts/down.mjs --context 'team a'\n");
  });
});

describe('up: flags', () => {
  // Refused flags stop before anything runs, so one project serves every case.
  const box = sandbox();

  test.concurrent.each([
    [['--dry-rn'], /unknown flag --dry-rn/],
    [['--context'], /--context needs a value/],
    [['deploy'], /unexpected argument\(s\): deploy/],
  ])('%p is refused before anything runs', async (args, message) => {
    const result = await box.up(args);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(message);
    expect(result.stderr).toContain('Usage: npx zx scripts/up.mjs');
    expect(box.calls()).toEqual([]);
  });

  test.concurrent('--help prints the usage and runs nothing', async () => {
    const result = await box.up(['--help']);
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/^Usage: npx zx scripts\/up\.mjs \[flags\]/);
    for (const flag of ['--dry-run', '--no-verify', '--context NAME', '--diff']) expect(result.stdout).toContain(flag);
    expect(box.calls()).toEqual([]);
  });
});

const HELMCHART_CONFIG = 'nats:\n  install: helmchart\n';
/** The HelmChart nats.install helmchart left in kube-system, as `kubectl get -o json` prints it (cut down). */
const OUR_HELMCHART = JSON.stringify({
  apiVersion: 'helm.cattle.io/v1', kind: 'HelmChart',
  metadata: { name: 'nats', namespace: 'kube-system', labels: { 'app.kubernetes.io/part-of': 'k3s-nats-tls', 'k3s-nats-tls/instance': 'default' } },
  spec: { chart: 'nats', repo: 'https://nats-io.github.io/k8s/helm/charts/', version: '2.14.2', targetNamespace: 'nats' },
});
/** What a helmchart deployment applies: the synthesized files, never a rendering of the chart. */
const helmchartApplies = (context: string): string[] => applies(context, MANIFESTS.slice(0, -1), HELMCHART_ALLOWLIST);
const helmJob = (context: string): string[] => [
  kubectl(context, '-n kube-system get job/helm-install-nats --ignore-not-found -o name'),
  kubectl(context, '-n kube-system wait --for=condition=complete job/helm-install-nats --timeout=300s'),
];
const HELMCHART_CRD = (context: string): string => kubectl(context, 'get crd/helmcharts.helm.cattle.io -o name');

describe('up: nats.install helmchart', () => {
  test.concurrent('k3s installs NATS: no helm at all, no rendering applied, the install Job is awaited before the StatefulSet', async () => {
    // GIVEN nats.install: helmchart and a machine without helm
    const box = await withIssuedKeys(sandbox(['docker', 'k3d', 'kubectl']));
    writeFileSync(join(box.root, 'k3s-nats-tls.yaml'), HELMCHART_CONFIG);
    // WHEN up runs
    const result = await box.up();
    // THEN the synthesized files are applied, the helm controller's Job is found and awaited, then the rollouts
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(box.calls()).toEqual([
      'docker info', 'k3d version', 'kubectl version --client', LIST, CREATE, GET_CONTEXTS,
      ...helmchartApplies('k3d-dev'), ...helmJob('k3d-dev'), ...rollouts('k3d-dev'), VERIFY,
    ]);
    expect(result.stdout).toContain("✔ NATS chart — not rendered — nats.install is helmchart: k3s's helm controller installs the chart");
    expect(existsSync(join(box.root, 'dist/helm/nats.yaml'))).toBe(false);
  });

  test.concurrent('the install Job that appears late is looked for again, not waited on before it exists', async () => {
    // GIVEN a helm controller whose Job is not there at the first look
    const box = await withIssuedKeys(sandbox(['kubectl']));
    writeFileSync(join(box.root, 'k3s-nats-tls.yaml'), HELMCHART_CONFIG);
    // WHEN up deploys to a k3s context
    const result = await box.up(['--context', 'staging', '--no-verify'], { FAKE_HELM_JOB_LATE: '1' });
    // THEN the CRD is checked first, and the Job is looked for twice before the wait
    expect(result.code).toBe(0);
    expect(box.calls()).toEqual([
      'kubectl version --client', GET_CONTEXTS, HELMCHART_CRD('staging'), ...helmchartApplies('staging'),
      helmJob('staging')[0], ...helmJob('staging'), ...rollouts('staging'),
    ]);
  });

  test.concurrent('--context without the HelmChart CRD stops in one line before anything is applied', async () => {
    // GIVEN a context that is not k3s (no helm.cattle.io CRD)
    const box = await withIssuedKeys(sandbox(['kubectl']));
    writeFileSync(join(box.root, 'k3s-nats-tls.yaml'), HELMCHART_CONFIG);
    // WHEN up deploys to it
    const result = await box.up(['--context', 'staging'], { FAKE_NO_HELMCHART_CRD: '1' });
    // THEN it stops at the Cluster step saying what to use instead; nothing was applied
    expect(result.code).toBe(1);
    expect(result.stderr).toContain("✖ Cluster failed: nats.install: helmchart needs k3s's helm controller: use template for this context\n");
    expect(box.calls()).toEqual(['kubectl version --client', GET_CONTEXTS, HELMCHART_CRD('staging')]);
  });

  test.concurrent('an install Job that does not complete fails with the command to read its log', async () => {
    const box = await withIssuedKeys(sandbox(['kubectl']));
    writeFileSync(join(box.root, 'k3s-nats-tls.yaml'), HELMCHART_CONFIG);
    const result = await box.up(['--context', 'staging'], { FAKE_FAIL: kubectl('staging', '-n kube-system wait') });
    expect(result.code).toBe(1);
    expect(result.stderr).toContain("✖ Rollout failed: k3s's helm controller did not install NATS");
    expect(result.stderr).toContain('kubectl --context staging --request-timeout=30s -n kube-system logs job/helm-install-nats');
    expect(box.calls().some((call) => call.includes('rollout status'))).toBe(false);
  });

  test.concurrent('switching from template deletes what the old rendering applied, once, before k3s installs NATS', async () => {
    // GIVEN a project deployed with the default (template) path
    const box = await withIssuedKeys(sandbox());
    expect((await box.up(['--no-verify'])).code).toBe(0);
    expect(existsSync(join(box.root, 'dist/helm/nats.yaml'))).toBe(true);
    // WHEN the configuration switches to helmchart and up runs
    writeFileSync(join(box.root, 'k3s-nats-tls.yaml'), HELMCHART_CONFIG);
    box.clearCalls();
    const result = await box.up(['--no-verify']);
    // THEN the rendering's objects go before anything is applied, and the rendering with them
    expect(result.code).toBe(0);
    expect(box.calls()).toEqual([
      'docker info', 'k3d version', 'kubectl version --client', LIST, GET_CONTEXTS,
      // By label, never by the names in the file: our owner labels and the chart's release and managed-by labels.
      kubectl('k3d-dev', '-n nats delete configmap,secret,service,serviceaccount,deployment.v1.apps,statefulset.v1.apps,ingress.v1.networking.k8s.io,' +
        'poddisruptionbudget.v1.policy -l app.kubernetes.io/part-of=k3s-nats-tls,k3s-nats-tls/instance=default,app.kubernetes.io/instance=nats,app.kubernetes.io/managed-by=Helm --ignore-not-found'),
      ...helmchartApplies('k3d-dev'), ...helmJob('k3d-dev'), ...rollouts('k3d-dev'),
    ]);
    expect(existsSync(join(box.root, 'dist/helm/nats.yaml'))).toBe(false);
    // ... and the next up has nothing left to delete
    box.clearCalls();
    expect((await box.up(['--no-verify'])).code).toBe(0);
    expect(box.calls().filter((call) => call.includes(' delete '))).toEqual([]);
  });
});

describe('up --diff', () => {

  test.concurrent('without a cluster it says so and creates nothing', async () => {
    const box = await withIssuedKeys(sandbox());
    const result = await box.up(['--diff']);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('✖ Cluster failed: no k3d cluster dev: there is nothing to compare with');
    expect(box.calls()).toEqual([...PROBES, LIST]);
  });

  test.concurrent.each([
    ['nothing would change (exit 0)', '0', 0],
    ['something would change (exit 1)', '1', 1],
  ])('%s: one kubectl diff of every manifest with the apply\'s prune flags, nothing applied', async (_case, diffCode, exitCode) => {
    // GIVEN a running cluster dev
    const box = await withIssuedKeys(sandbox());
    box.fake.setClusters([{ name: 'dev', serversRunning: 1, nodes: [{ role: 'loadbalancer', State: RUNNING, portMappings: DEFAULT_MAPPINGS }] }]);
    // WHEN up --diff runs and kubectl diff finds (or does not find) differences
    const result = await box.up(['--diff'], { FAKE_DIFF_CODE: diffCode, FAKE_NAMESPACES_JSON: NATS_NAMESPACE_JSON });
    // THEN it synthesizes and renders, diffs each file and applies nothing
    expect(result.code).toBe(exitCode);
    expect(box.calls()).toEqual([...PROBES, LIST, GET_CONTEXTS, render(box.root), HELMCHARTS('k3d-dev'), ...diffs('k3d-dev')]);
    if (exitCode === 1) {
      expect(result.stdout).toContain('+  a: 2');
      expect(result.stdout).toContain('✔ Diff — 1 object(s) would change or be pruned: v1.Service.nats.nats-np\n');
      expect(result.stdout).toContain('Nothing was applied. Apply the changes: npx zx scripts/up.mjs\n');
    } else {
      expect(result.stdout).toContain('✔ Diff — nothing would change in context k3d-dev');
    }
  });

  test.concurrent('a HelmChart left by nats.install helmchart is a change: up would delete it first; --diff deletes nothing', async () => {
    // GIVEN a running cluster where our HelmChart still installs NATS, and the configuration says template
    const box = await withIssuedKeys(sandbox(['kubectl', 'helm']));
    // WHEN up --diff runs and kubectl diff finds nothing else
    const result = await box.up(['--diff', '--context', 'staging'], { FAKE_HELMCHART_JSON: OUR_HELMCHART, FAKE_NAMESPACES_JSON: NATS_NAMESPACE_JSON });
    // THEN it exits 1 naming the HelmChart, and only looked
    expect(result.code).toBe(1);
    expect(result.stdout).toContain("up would first delete helmchart.helm.cattle.io/nats (k3s's helm controller would uninstall NATS)\n");
    expect(result.stdout).toContain('✔ Diff — 1 object(s) would change or be pruned: helmchart.helm.cattle.io/nats (deleted)\n');
    expect(box.calls()).toEqual([
      'kubectl version --client', 'helm version --short', GET_CONTEXTS, render(box.root), HELMCHARTS('staging'),
      // The release the HelmChart installed goes with it: the rendering's objects are not looked for as someone else's.
      kubectl('staging', `get --ignore-not-found -o json ${MANIFESTS.slice(1, -1).map((file) => `-f ${file}`).join(' ')}`), ...diffs('staging').slice(1),
    ]);
  });

  test.concurrent('an error of kubectl diff (exit 2) is a failure naming the command', async () => {
    const box = await withIssuedKeys(sandbox(['kubectl', 'helm']));
    const result = await box.up(['--diff', '--context', 'staging'], { FAKE_DIFF_CODE: '2' });
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('✖ Diff failed: exited with code 2');
    expect(result.stderr).toContain(`command: ${diffs('staging')[2]}`);
    expect(result.stderr).toContain('error: fake diff failed');
    expect(box.calls().at(-1)).toBe(diffs('staging')[2]);
  });

  test.concurrent('with helmchart only the synthesized files are compared', async () => {
    const box = await withIssuedKeys(sandbox(['kubectl']));
    writeFileSync(join(box.root, 'k3s-nats-tls.yaml'), HELMCHART_CONFIG);
    const result = await box.up(['--diff', '--context', 'staging'], { FAKE_NAMESPACES_JSON: NATS_NAMESPACE_JSON });
    expect(result.code).toBe(0);
    expect(box.calls()).toEqual([
      'kubectl version --client', GET_CONTEXTS, HELMCHART_CRD('staging'), ...diffs('staging', MANIFESTS.slice(0, -1), HELMCHART_ALLOWLIST),
    ]);
  });
});

describe('up: pruning what left dist/', () => {
  const OWNER_LABELS = { 'app.kubernetes.io/part-of': 'k3s-nats-tls', 'k3s-nats-tls/instance': 'default' };
  const runningCluster = (box: ReturnType<typeof sandbox>): void =>
    box.fake.setClusters([{ name: 'dev', serversRunning: 1, nodes: [{ role: 'loadbalancer', State: RUNNING, portMappings: DEFAULT_MAPPINGS }] }]);
  const deleteHelmChart = (context: string): string =>
    kubectl(context, '-n kube-system delete helmchart.helm.cattle.io/nats --ignore-not-found --wait --timeout=300s');

  test.concurrent('one kubectl apply of every manifest prunes by our labels, and every object in them carries them', async () => {
    // GIVEN a fresh project WHEN up deploys it
    const box = await withIssuedKeys(sandbox());
    const result = await box.up(['--no-verify'], { FAKE_PRUNED: '' });
    // THEN the manifests go to kubectl in one call, in apply order, with the label selector and the allowlist
    expect(result.code).toBe(0);
    expect(box.calls().filter((call) => call.includes(' apply '))).toEqual(applies('k3d-dev').slice(-1));
    expect(result.stdout).toContain(`✔ Apply — created namespace(s) nats; ${MANIFESTS.length - 1} file(s) applied to context k3d-dev; nothing to prune\n`);
    // ... and -l skips nothing: each object of each file (the chart's rendering too) has the labels
    for (const file of MANIFESTS) {
      const objects = parseAllDocuments(readFileSync(join(box.root, file), 'utf8')).map((document) => document.toJS() as ApiObject);
      expect(objects.length).toBeGreaterThan(0);
      for (const object of objects) {
        expect([file, object.kind, object.metadata.labels]).toEqual([file, object.kind, expect.objectContaining(OWNER_LABELS)]);
      }
    }
  });

  test.concurrent('another instance prunes by its own label, in the same one call', async () => {
    const box = await withIssuedKeys(sandbox(['kubectl', 'helm']));
    writeFileSync(join(box.root, 'k3s-nats-tls.yaml'), 'instance: staging\n');
    const result = await box.up(['--context', 'staging', '--no-verify']);
    expect(result.code).toBe(0);
    expect(box.calls().filter((call) => call.includes(' apply '))).toEqual([kubectl('staging', pruning('apply', MANIFESTS.slice(1), undefined, 'staging'))]);
    expect(readFileSync(join(box.root, 'dist/helm/nats.yaml'), 'utf8')).toContain('    k3s-nats-tls/instance: staging\n');
  });

  test.concurrent('renamed objects: the next up applies the new names in the same call and reports what kubectl pruned', async () => {
    // GIVEN a deployed project
    const box = await withIssuedKeys(sandbox());
    expect((await box.up(['--no-verify'])).code).toBe(0);
    // WHEN http-echo is renamed and up runs again (kubectl prunes the old Deployment, Service and Ingresses)
    writeFileSync(join(box.root, 'k3s-nats-tls.yaml'), 'echo:\n  name: hello\n');
    box.clearCalls();
    const pruned = 'deployment.apps/echo,service/echo,ingress.networking.k8s.io/echo-ingress,ingress.networking.k8s.io/echo-ingress-tls';
    const result = await box.up(['--no-verify'], { FAKE_PRUNED: pruned });
    // THEN the same one apply carries the new names, the rollout waits for the new Deployment, and the summary names what went
    expect(result.code).toBe(0);
    expect(box.calls()).toEqual([
      ...PROBES, LIST, GET_CONTEXTS, HELMCHARTS('k3d-dev'), ...applies('k3d-dev'),
      kubectl('k3d-dev', '-n default rollout status deployment/hello --timeout=180s'), rollouts('k3d-dev')[1],
    ]);
    expect(result.stdout).toContain('✔ Manifests — synthesized 6 file(s) into dist/\n');
    expect(readFileSync(join(box.root, 'dist/0003-echo.k8s.yaml'), 'utf8')).not.toMatch(/name: echo\b/);
    expect(result.stdout).toContain(`applied to context k3d-dev; pruned ${pruned.split(',').join(', ')}\n`);
  });

  test.concurrent('an object without our labels in a manifest stops up before anything is applied, but not a dry run', async () => {
    // GIVEN a deployed project whose rendering lost its labels by hand, under a current header
    const box = await withIssuedKeys(sandbox());
    expect((await box.up(['--no-verify'])).code).toBe(0);
    const rendered = join(box.root, 'dist/helm/nats.yaml');
    writeFileSync(rendered, readFileSync(rendered, 'utf8').replaceAll('    app.kubernetes.io/part-of: k3s-nats-tls\n', ''));
    box.clearCalls();
    // WHEN up runs again
    const result = await box.up(['--no-verify']);
    // THEN the Apply step names the file and the objects kubectl -l would skip, and applies nothing
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('✖ Apply failed: dist/helm/nats.yaml: ConfigMap nats-config, Service nats-headless, Service nats, StatefulSet nats ' +
      'without the labels app.kubernetes.io/part-of=k3s-nats-tls,k3s-nats-tls/instance=default, which kubectl apply -l would skip\n');
    expect(result.stderr).toContain('npm run synth');
    expect(box.calls().filter((call) => call.includes(' apply '))).toEqual([]);
    // ... while a dry run, which synthesizes and renders nothing, only says what it would run
    const dry = await box.up(['--dry-run']);
    expect(dry.code).toBe(0);
    expect(dry.stdout).toContain(`would run: ${applies('k3d-dev').at(-1)}`);
  });

  test.concurrent('from helmchart to template: our HelmChart goes after rendering, right before the apply, and kubectl waits for the uninstall', async () => {
    // GIVEN a running cluster where k3s installed NATS from our HelmChart, and the configuration now says template
    const box = await withIssuedKeys(sandbox());
    runningCluster(box);
    const env = { FAKE_HELMCHART_JSON: OUR_HELMCHART };
    // WHEN up --dry-run runs THEN it looks, and only says it would delete
    const dry = await box.up(['--dry-run'], env);
    expect(dry.code).toBe(0);
    expect(dry.stdout).toContain(`would run: ${deleteHelmChart('k3d-dev')}`);
    expect(box.calls()).toEqual([...PROBES, LIST, GET_CONTEXTS, HELMCHARTS('k3d-dev')]);
    // WHEN up runs
    box.clearCalls();
    const result = await box.up(['--no-verify'], env);
    // THEN helm renders first; the HelmChart is deleted (waiting, bounded) just before kubectl applies
    expect(result.code).toBe(0);
    expect(box.calls()).toEqual([
      ...PROBES, LIST, GET_CONTEXTS, render(box.root), HELMCHARTS('k3d-dev'), deleteHelmChart('k3d-dev'), ...applies('k3d-dev'), ...rollouts('k3d-dev'),
    ]);
    expect(result.stdout).toContain("✔ Apply — deleted helmchart.helm.cattle.io/nats (k3s's helm controller uninstalled NATS); created namespace(s) nats; 4 file(s) applied");
  });

  test.concurrent('a HelmChart from before objects were labelled is deleted when it installs exactly our chart into our namespace', async () => {
    const box = await withIssuedKeys(sandbox(['kubectl', 'helm']));
    const ours = JSON.parse(OUR_HELMCHART);
    const valuesContent = stringifyYaml(plannedStack(parseConfig({})).nats.helmValues);
    const unlabelled = JSON.stringify({ ...ours, metadata: { name: 'nats' }, spec: { ...ours.spec, valuesContent } });
    const result = await box.up(['--context', 'staging', '--no-verify'], { FAKE_HELMCHART_JSON: unlabelled });
    expect(result.code).toBe(0);
    expect(box.calls()).toContain(deleteHelmChart('staging'));
  });

  test.concurrent('a HelmChart of someone else installing into our namespace stops up before anything is applied', async () => {
    // GIVEN kube-system/nats installs another chart into namespace nats, without our labels
    const box = await withIssuedKeys(sandbox(['kubectl', 'helm']));
    const theirs = JSON.stringify({ metadata: { name: 'nats', labels: { team: 'messaging' } }, spec: { chart: 'my-nats', repo: 'https://charts.example.com/', targetNamespace: 'nats' } });
    // WHEN up runs THEN it names the HelmChart and the way out, deletes nothing and applies nothing
    const result = await box.up(['--context', 'staging'], { FAKE_HELMCHART_JSON: theirs });
    expect(result.code).toBe(1);
    expect(result.stderr).toContain("✖ Apply failed: the HelmChart kube-system/nats (chart my-nats into namespace nats) is not this instance's, " +
      'and k3s would install release nats there over the rendering\n');
    expect(result.stderr).toContain('kubectl -n kube-system delete helmchart.helm.cattle.io/nats');
    expect(box.calls().at(-1)).toBe(HELMCHARTS('staging'));
  });

  test.concurrent('a HelmChart that does not go within its time leaves nothing applied, and says where to look', async () => {
    const box = await withIssuedKeys(sandbox(['kubectl', 'helm']));
    const result = await box.up(['--context', 'staging'], { FAKE_HELMCHART_JSON: OUR_HELMCHART, FAKE_FAIL: deleteHelmChart('staging') });
    expect(result.code).toBe(1);
    expect(result.stderr).toContain("✖ Apply failed: helmchart.helm.cattle.io/nats is not gone after 300s: k3s's helm controller did not uninstall NATS\n");
    expect(result.stderr).toContain('kubectl --context staging --request-timeout=30s -n kube-system get helmcharts,jobs,events');
    expect(box.calls().at(-1)).toBe(deleteHelmChart('staging'));
  });

  test.concurrent('a context that is not k3s has no HelmChart type: nothing to delete, and up goes on', async () => {
    const box = await withIssuedKeys(sandbox(['kubectl', 'helm']));
    const result = await box.up(['--context', 'staging', '--no-verify'], { FAKE_NO_HELMCHART_CRD: '1' });
    expect(result.code).toBe(0);
    expect(box.calls()).toEqual([
      'kubectl version --client', 'helm version --short', GET_CONTEXTS, render(box.root), HELMCHARTS('staging'), ...applies('staging'),
      ...rollouts('staging'),
    ]);
  });

  test.concurrent('any other failure of the look for a HelmChart stops up before anything is applied', async () => {
    const box = await withIssuedKeys(sandbox(['kubectl', 'helm']));
    const result = await box.up(['--context', 'staging'], { FAKE_FAIL: HELMCHARTS('staging') });
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('✖ Apply failed: exited with code 1\n');
    expect(result.stderr).toContain(`  command: ${HELMCHARTS('staging')}\n`);
    expect(box.calls().at(-1)).toBe(HELMCHARTS('staging'));
  });
});

describe('up: the summary', () => {
  test.concurrent('names the cluster shape, echo over HTTPS with our CA and npm run contexts', async () => {
    // GIVEN three servers with JetStream
    const box = await withIssuedKeys(sandbox(['kubectl', 'helm']));
    writeFileSync(join(box.root, 'k3s-nats-tls.yaml'), 'nats:\n  replicas: 3\n  jetstream:\n    enabled: true\n');
    // WHEN up deploys
    const result = await box.up(['--context', 'staging', '--no-verify']);
    // THEN the summary says so, with the HTTPS curl and the nats contexts
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('NATS:       3 server(s) in a cluster, JetStream on\n');
    expect(result.stdout).toContain('curl --cacert keys/ca.crt https://localhost:8443');
    expect(result.stdout).toContain('npm run contexts');
  });
});
