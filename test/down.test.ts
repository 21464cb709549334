import { existsSync, mkdirSync, writeFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { GET_CONTEXTS, removeSandboxes, sandbox, Sandbox, tree } from './support/sandbox';

// scripts/down.mjs in a copy of the project against stand-in docker/k3d/kubectl. It reads only the
// cluster list and dist/'s file names, so the cases seed those directly instead of running up first.
afterAll(removeSandboxes);

// A down run costs about 0.6 s of CPU; the concurrent cases start together, and with two copies of
// the suite on a busy 2-core machine one case took 21 s. A wide margin on that.
jest.setTimeout(120_000);

const DOWN_PROBES = ['docker info', 'k3d version'];
const LIST = 'k3d cluster list -o json';
const DEV_CLUSTER = { name: 'dev', serversRunning: 1, nodes: [] };

/** A project as up leaves it: keys and dist/ with the synthesized manifests and the rendered chart. */
function deployedProject(box: Sandbox): void {
  mkdirSync(join(box.root, 'keys'));
  writeFileSync(join(box.root, 'keys', 'ca.crt'), 'CA\n');
  mkdirSync(join(box.root, 'dist', 'helm'), { recursive: true });
  const files = [
    '0000-namespaces.k8s.yaml', '0001-nats-tls.k8s.yaml', '0002-nats-access.k8s.yaml', '0003-echo.k8s.yaml',
    'helm/nats.yaml', 'helm/nats-values.yaml',
  ];
  for (const file of files) {
    writeFileSync(join(box.root, 'dist', file), 'kind: ConfigMap\n');
  }
}

describe('down: the k3d cluster', () => {
  test.concurrent('deletes the cluster and keeps the keys', async () => {
    // GIVEN a deployed project and its k3d cluster
    const box = sandbox();
    deployedProject(box);
    box.fake.setClusters([{ name: 'other', nodes: [] }, DEV_CLUSTER]);
    // WHEN down runs
    const result = await box.down();
    // THEN the configured cluster (only) is deleted; keys/ stays
    expect(result.code).toBe(0);
    expect(box.calls()).toEqual([...DOWN_PROBES, LIST, 'k3d cluster delete dev']);
    expect(result.stdout).toContain('✔ Cluster — deleted k3d cluster dev');
    expect(result.stdout).toContain('Kept keys/ (add --purge to delete the certificates)');
    expect(existsSync(join(box.root, 'keys', 'ca.crt'))).toBe(true);
  });

  test.concurrent('is idempotent: without a cluster there is nothing to do', async () => {
    // GIVEN no k3d cluster of that name
    const box = sandbox();
    box.fake.setClusters([{ name: 'other', nodes: [] }]);
    // WHEN down runs THEN it only looks, and succeeds
    const result = await box.down();
    expect(result.code).toBe(0);
    expect(box.calls()).toEqual([...DOWN_PROBES, LIST]);
    expect(result.stdout).toContain('no k3d cluster dev: nothing to do');
  });

  test.concurrent('--purge also deletes the keys', async () => {
    const box = sandbox();
    deployedProject(box);
    box.fake.setClusters([DEV_CLUSTER]);
    const result = await box.down(['--purge']);
    expect(result.code).toBe(0);
    expect(box.calls()).toEqual([...DOWN_PROBES, LIST, 'k3d cluster delete dev']);
    expect(existsSync(join(box.root, 'keys'))).toBe(false);
    expect(result.stdout).toContain('✔ Keys — deleted 1 file(s) and keys/');
  });

  test.concurrent('--purge deletes only the files the PKI writes, and keeps the folder when anything else is in it', async () => {
    // GIVEN the PKI folder also holds a file the PKI did not write
    const box = sandbox();
    deployedProject(box);
    writeFileSync(join(box.root, 'keys', 'client1.key'), 'KEY\n');
    writeFileSync(join(box.root, 'keys', 'old-laptop.crt'), 'CERT\n');
    box.fake.setClusters([DEV_CLUSTER]);
    // WHEN down --purge runs
    const result = await box.down(['--purge']);
    // THEN the configured identity's key and the CA are gone, the other file and the folder stay, and it says so
    expect(result.code).toBe(0);
    expect(readdirSync(join(box.root, 'keys'))).toEqual(['old-laptop.crt']);
    expect(result.stdout).toContain('deleted 2 file(s) in keys/ and kept what the PKI did not write: keys/old-laptop.crt');
  });

  test.concurrent('--purge refuses a PKI folder that holds foreign files, and deletes nothing', async () => {
    // GIVEN pki.dir names a folder of source code (the reviewer's `pki.dir: .` is refused at load; this is the subtler case)
    const box = sandbox();
    writeFileSync(join(box.root, 'k3s-nats-tls.yaml'), 'pki:\n  dir: charts\n');
    const before = tree(box.root);
    box.fake.setClusters([]);
    // WHEN down --purge runs THEN it fails naming the setting and the foreign file, and nothing is deleted
    const result = await box.down(['--purge']);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/✖ Keys failed: pki\.dir 'charts' \(.*charts\/echo\.ts\) holds echo\.ts, which this tool did not write/);
    expect(tree(box.root)).toEqual(before);
  });

  test.concurrent('a failing delete stops before the keys are touched', async () => {
    // GIVEN k3d cannot delete the cluster
    const box = sandbox();
    deployedProject(box);
    box.fake.setClusters([DEV_CLUSTER]);
    // WHEN down --purge runs THEN the step, command and k3d's words are shown and keys/ survives
    const result = await box.down(['--purge'], { FAKE_FAIL: 'k3d cluster delete' });
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('✖ Cluster failed: exited with code 1\n  command: k3d cluster delete dev\n  │ fake k3d: simulated failure');
    expect(existsSync(join(box.root, 'keys', 'ca.crt'))).toBe(true);
  });

  test.concurrent('--dry-run --purge deletes nothing and only looks', async () => {
    const box = sandbox();
    deployedProject(box);
    box.fake.setClusters([DEV_CLUSTER]);
    const before = tree(box.root);
    const result = await box.down(['--dry-run', '--purge']);
    expect(result.code).toBe(0);
    expect(box.calls()).toEqual([...DOWN_PROBES, LIST]);
    expect(tree(box.root)).toEqual(before);
    expect(result.stdout).toContain('would run: k3d cluster delete dev');
    expect(result.stdout).toContain(
      'would delete the CA, server and client certificates and keys in keys/, then the folder if nothing else is in it',
    );
    expect(result.stdout).toContain('Dry run: nothing was changed.');
  });

  test.concurrent('without k3d on PATH it stops at preflight', async () => {
    const box = sandbox(['docker', 'kubectl']);
    const result = await box.down();
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('- k3d: not found on PATH — install k3d v5');
    expect(box.calls()).toEqual(['docker info']);
  });
});

describe('down --context', () => {
  const SELECTOR = 'app.kubernetes.io/part-of=k3s-nats-tls,k3s-nats-tls/instance=default';
  const KINDS = 'configmap,secret,service,serviceaccount,deployment.v1.apps,statefulset.v1.apps,ingress.v1.networking.k8s.io,poddisruptionbudget.v1.policy';
  const call = (context: string, command: string) => `kubectl --context ${context} --request-timeout=30s ${command}`;
  /** By label in each namespace the configuration uses, never by name or by file; then the Namespaces this instance created. */
  const deletes = (context: string) => [
    call(context, `-n nats delete ${KINDS} -l ${SELECTOR} --ignore-not-found`),
    call(context, `-n default delete ${KINDS} -l ${SELECTOR} --ignore-not-found`),
    call(context, 'get namespace nats default --ignore-not-found -o json'),
    call(context, `delete namespace -l ${SELECTOR} --ignore-not-found`),
  ];

  test.concurrent('deletes this instance\'s objects by label, then the namespaces it created, with kubectl only', async () => {
    // GIVEN a deployed project and a machine without docker and k3d
    const box = sandbox(['kubectl']);
    deployedProject(box);
    // WHEN down runs against the context
    const result = await box.down(['--context', 'staging']);
    // THEN only label-selected deletes run; k3d is never asked; keys stay
    expect(result.code).toBe(0);
    expect(box.calls()).toEqual(['kubectl version --client', GET_CONTEXTS, ...deletes('staging')]);
    expect(existsSync(join(box.root, 'keys', 'ca.crt'))).toBe(true);
    expect(result.stdout).toContain('npx zx scripts/up.mjs --context staging');
  });

  test.concurrent('a namespace this instance did not create is kept, and down says so', async () => {
    const box = sandbox(['kubectl']);
    deployedProject(box);
    const theirs = JSON.stringify({ kind: 'List', items: [{ kind: 'Namespace', metadata: { name: 'nats', labels: { team: 'x' } } }, { kind: 'Namespace', metadata: { name: 'default' } }] });
    const result = await box.down(['--context', 'staging'], { FAKE_NAMESPACES_JSON: theirs });
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('kept namespace(s) nats, which instance default did not create (only its objects were deleted)');
  });

  test.concurrent('--dry-run lists the deletes and runs only the look at the namespaces', async () => {
    const box = sandbox(['kubectl']);
    deployedProject(box);
    const result = await box.down(['--context', 'staging', '--dry-run']);
    expect(result.code).toBe(0);
    expect(box.calls()).toEqual(['kubectl version --client', GET_CONTEXTS, deletes('staging')[2]]);
    for (const command of [0, 1, 3].map((at) => deletes('staging')[at])) expect(result.stdout).toContain(`would run: ${command}`);
  });

  test.concurrent('--purge also deletes the JetStream volumes of our release, and only with --context', async () => {
    // GIVEN a deployed project on a context named with a space
    const box = sandbox(['kubectl']);
    deployedProject(box);
    // WHEN down --purge runs against it
    const result = await box.down(['--context', 'team a', '--purge'], { FAKE_KUBE_CONTEXTS: 'k3d-dev,team a' });
    // THEN after the objects the release's PVCs go, selected by its instance label, and the keys with them
    expect(result.code).toBe(0);
    expect(box.calls()).toEqual([
      'kubectl version --client', GET_CONTEXTS, ...deletes('team a'),
      'kubectl --context team a --request-timeout=30s -n nats delete pvc -l app.kubernetes.io/instance=nats --ignore-not-found',
    ]);
    expect(existsSync(join(box.root, 'keys', 'ca.crt'))).toBe(false);
    // ... and the last line quotes the context so it can be pasted
    expect(result.stdout).toMatch(/Deploy again: npx zx scripts\/up\.mjs --context 'team a'\n$/);
  });

  test.concurrent('the cluster, not dist/, says what is ours: without manifests down still deletes by label', async () => {
    const box = sandbox(['kubectl']);
    const result = await box.down(['--context', 'staging']);
    expect(result.code).toBe(0);
    expect(box.calls()).toEqual(['kubectl version --client', GET_CONTEXTS, ...deletes('staging')]);
  });
});

describe('down: flags', () => {
  test.concurrent('--help prints the usage; an unknown flag is refused', async () => {
    const box = sandbox();
    const help = await box.down(['--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/^Usage: npx zx scripts\/down\.mjs \[flags\]/);
    for (const flag of ['--dry-run', '--context NAME', '--purge']) expect(help.stdout).toContain(flag);
    expect(help.stdout).toContain('JetStream volumes (PVCs)');
    const wrong = await box.down(['--purge-all']);
    expect(wrong.code).toBe(2);
    expect(wrong.stderr).toContain('unknown flag --purge-all');
    expect(box.calls()).toEqual([]);
  });
});
