import { execFile, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Testing } from 'cdk8s';
import { stringify } from 'yaml';
import { parseConfig, type Config } from '../lib/config/config';
import { renderedDocument, renderProvenance } from '../lib/deploy/helm-render';
import { kubectlArgs } from '../lib/deploy/kubectl';
import {
  diffedObjects, HELMCHART_KIND, PRUNABLE_KINDS, pruneAllowlist, prunedObjects, pruningArgs, unlabelledObjects,
} from '../lib/deploy/prune';
import { INSTANCE_LABEL, ownerLabels, PART_OF } from '../lib/synth/ownership';
import { defineStack } from '../lib/synth/stack';
import { startFakeApiServer, type FakeApiServer, type StoredObject } from './support/fake-api-server';
import { appObjects, FAKE_TLS } from './support/fixtures';

/** An object's kind as --prune-allowlist names it: group/version/Kind, `core` for the core group. */
const allowlistKind = ({ apiVersion, kind }: { apiVersion: string; kind: string }): string =>
  `${apiVersion.includes('/') ? apiVersion : `core/${apiVersion}`}/${kind}`;

describe('what up may prune', () => {
  test.each([
    ['the defaults', {}],
    ['nats.install helmchart', { nats: { install: 'helmchart' } }],
    ['a JetStream cluster of three', { nats: { replicas: 3, jetstream: { enabled: true } } }],
    ['another echo namespace and name', { echo: { name: 'hello', namespace: 'web' } }],
    ['another instance', { instance: 'staging' }],
  ])('with %s, every object the stack creates carries the owner labels, and every kind of them but Namespace is prunable', (_name, raw) => {
    // GIVEN the stack of this configuration
    const config = parseConfig(raw);
    const app = Testing.app();
    defineStack(app, config, { ...FAKE_TLS, route: { cert: FAKE_TLS.serverCert, key: FAKE_TLS.serverKey } });
    const objects = appObjects(app);
    // THEN kubectl apply -l selects each of them
    for (const object of objects) {
      expect([object.kind, object.metadata.name, object.metadata.labels]).toEqual(
        [object.kind, object.metadata.name, expect.objectContaining({ [PART_OF.key]: PART_OF.value, [INSTANCE_LABEL]: config.instance })],
      );
    }
    // ... and an object of any of their kinds that leaves dist/ is pruned, unless it is a Namespace
    const kinds = [...new Set(objects.filter((object) => object.kind !== 'Namespace').map(allowlistKind))];
    expect(pruneAllowlist(config.nats.install)).toEqual(expect.arrayContaining(kinds));
  });

  test('Namespaces are never pruned; a HelmChart only where it is the installer', () => {
    for (const install of ['template', 'helmchart'] as const) {
      expect(pruneAllowlist(install).some((kind) => kind.endsWith('/Namespace'))).toBe(false);
    }
    expect(pruneAllowlist('template')).not.toContain(HELMCHART_KIND);
    expect(pruneAllowlist('helmchart')).toEqual([...PRUNABLE_KINDS, HELMCHART_KIND]);
  });
});

describe('the kubectl call', () => {
  test('apply and diff take the same arguments: prune, our selector, the allowlist, then each file in order', () => {
    const args = pruningArgs('apply', ['dist/0000-namespaces.k8s.yaml', 'dist/helm/nats.yaml'], 'template', 'default');
    expect(args).toEqual([
      'apply', '--prune', '-l', 'app.kubernetes.io/part-of=k3s-nats-tls,k3s-nats-tls/instance=default',
      ...PRUNABLE_KINDS.map((kind) => `--prune-allowlist=${kind}`),
      '-f', 'dist/0000-namespaces.k8s.yaml', '-f', 'dist/helm/nats.yaml',
    ]);
    expect(pruningArgs('diff', ['a.yaml'], 'helmchart', 'x')).toEqual(['diff', ...pruningArgs('apply', ['a.yaml'], 'helmchart', 'x').slice(1)]);
  });

  test.each(['apply', 'diff'] as const)('the real kubectl accepts every flag of `kubectl %s` as up passes them', (verb) => {
    // GIVEN a manifest and an API server address where nothing listens
    const dir = mkdtempSync(join(tmpdir(), 'k3s-nats-tls-prune-'));
    try {
      const manifest = join(dir, 'a.yaml');
      writeFileSync(manifest, `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\n  namespace: nats\n  labels:\n    ${PART_OF.key}: ${PART_OF.value}\n`);
      writeFileSync(join(dir, 'kubeconfig'), '');
      // WHEN kubectl runs with up's arguments
      const result = spawnSync('kubectl', [
        '--server=http://127.0.0.1:1', '--token=unused', '--request-timeout=5s', ...pruningArgs(verb, [manifest], 'helmchart', 'default'),
      ], { input: '', encoding: 'utf8', timeout: 30_000, env: { ...process.env, KUBECONFIG: join(dir, 'kubeconfig') } });
      // THEN it parsed them all and got as far as calling the server
      expect(result.error).toBeUndefined();
      expect(result.stderr).not.toMatch(/unknown flag|invalid argument|unknown shorthand/);
      expect(result.stderr).toContain('The connection to the server 127.0.0.1:1 was refused');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('reading manifests and kubectl output', () => {
  const labelled = (kind: string, name: string, instance = 'default'): string =>
    `---\napiVersion: v1\nkind: ${kind}\nmetadata:\n  name: ${name}\n  labels:\n    ${PART_OF.key}: ${PART_OF.value}\n    ${INSTANCE_LABEL}: ${instance}\n`;

  test('objects without both labels, or of another instance, are named; empty documents are not objects', () => {
    const manifest = [
      labelled('Service', 'ours'),
      '---\napiVersion: v1\nkind: Service\nmetadata:\n  name: bare\n',
      `---\napiVersion: v1\nkind: Secret\nmetadata:\n  name: half\n  labels:\n    ${PART_OF.key}: ${PART_OF.value}\n`,
      labelled('ConfigMap', 'sibling', 'staging'),
      '---\n# Source: nats/templates/empty.yaml\n',
    ].join('');
    expect(unlabelledObjects(manifest, 'default')).toEqual(['Service bare', 'Secret half', 'ConfigMap sibling']);
    expect(unlabelledObjects(labelled('Service', 'ours'), 'default')).toEqual([]);
  });

  test('what kubectl apply --prune pruned, from its output', () => {
    const output = 'namespace/nats unchanged\nsecret/nats-tls configured\nservice/nats-np unchanged\nservice/echo pruned\n' +
      'ingress.networking.k8s.io/echo-ingress pruned\n';
    expect(prunedObjects(output)).toEqual(['service/echo', 'ingress.networking.k8s.io/echo-ingress']);
    expect(prunedObjects('namespace/nats unchanged\n')).toEqual([]);
  });

  test('what kubectl diff shows, from the headers it gives each object', () => {
    const output = [
      'diff -u -N /tmp/LIVE-2418/apps.v1.Deployment.default.hello /tmp/MERGED-2418/apps.v1.Deployment.default.hello',
      '--- /tmp/LIVE-2418/apps.v1.Deployment.default.hello\t2026-11-29 05:30:00',
      '+++ /tmp/MERGED-2418/apps.v1.Deployment.default.hello\t2026-11-29 05:30:00',
      '@@ -0,0 +1,3 @@',
      '+apiVersion: apps/v1',
      'diff -u -N /tmp/LIVE-2418/v1.Service.default.echo /tmp/MERGED-2418/v1.Service.default.echo',
      '-kind: Service',
    ].join('\n');
    expect(diffedObjects(output)).toEqual(['apps.v1.Deployment.default.hello', 'v1.Service.default.echo']);
  });
});

describe('the real kubectl pruning with up\'s arguments, against an API server', () => {
  // kubectl itself decides what goes: these tests run it with exactly the arguments up passes, on
  // manifests from the constructs and a rendering labelled as up writes it, against a small
  // in-memory API server (test/support/fake-api-server.ts), one per test.
  const CONTEXT = 'k3d-dev';
  const LAST_APPLIED = 'kubectl.kubernetes.io/last-applied-configuration';
  let dir: string;
  let server: FakeApiServer;

  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'k3s-nats-tls-kubectl-'));
    server = await startFakeApiServer();
    writeFileSync(join(dir, 'kubeconfig'), stringify({
      apiVersion: 'v1', kind: 'Config', 'current-context': CONTEXT,
      clusters: [{ name: 'fake', cluster: { server: server.url } }],
      users: [{ name: 'fake', user: { token: 'unused' } }],
      contexts: [{ name: CONTEXT, context: { cluster: 'fake', user: 'fake' } }],
    }));
  });
  afterEach(async () => {
    await server.close();
    rmSync(dir, { recursive: true, force: true });
  });

  /** The manifests up would apply for this configuration, in apply order; `chart` stands for helm's output (template only). */
  function manifests(round: string, raw: object, chart: readonly (readonly [string, string, string])[] = []): { files: string[]; config: Config } {
    const config = parseConfig(raw);
    const app = Testing.app();
    defineStack(app, config, FAKE_TLS);
    const files = app.charts.map((c, index) => {
      const file = join(dir, `${round}-${index}.k8s.yaml`);
      writeFileSync(file, (c.toJson() as object[]).map((object) => `---\n${stringify(object)}`).join(''));
      return file;
    });
    if (config.nats.install === 'helmchart') return { files, config };
    const helmOutput = chart.map(([apiVersion, kind, name]) =>
      `---\n# Source: nats/templates/${kind}.yaml\napiVersion: ${apiVersion}\nkind: ${kind}\nmetadata:\n  name: ${name}\n  namespace: nats\n`).join('');
    const rendered = join(dir, `${round}-nats.yaml`);
    writeFileSync(rendered, renderedDocument(renderProvenance(config.nats, config.instance, 'nats-values.yaml', ''), helmOutput));
    return { files: [...files, rendered], config };
  }

  /** kubectl with up's arguments; its exit code (diff: 1 when something differs) and its output. */
  async function kubectl(verb: 'apply' | 'diff', { files, config }: { files: string[]; config: Config }): Promise<{ code: number; stdout: string }> {
    const args = kubectlArgs(CONTEXT, ...pruningArgs(verb, files, config.nats.install, config.instance));
    try {
      const { stdout } = await promisify(execFile)('kubectl', args, {
        encoding: 'utf8', timeout: 60_000, env: { ...process.env, KUBECONFIG: join(dir, 'kubeconfig'), HOME: dir },
      });
      return { code: 0, stdout };
    } catch (error) {
      const failed = error as { code?: unknown; stdout?: string; stderr?: string };
      if (typeof failed.code !== 'number') throw error;
      if (verb === 'apply' || failed.code > 1) throw new Error(`kubectl ${verb} exited ${failed.code}: ${failed.stderr ?? ''}`, { cause: error });
      return { code: failed.code, stdout: failed.stdout ?? '' };
    }
  }

  const applied = (annotations = true) => (annotations ? { annotations: { [LAST_APPLIED]: '{}' } } : {});
  const CHART = [
    ['apps/v1', 'StatefulSet', 'nats'], ['v1', 'Service', 'nats'], ['v1', 'Service', 'nats-headless'], ['v1', 'ConfigMap', 'nats-config'],
    ['policy/v1', 'PodDisruptionBudget', 'nats'],
  ] as const;
  /** Objects that are not this instance's, or that kubectl did not apply, or that live where up no longer deploys. */
  const OTHERS: StoredObject[] = [
    { apiVersion: 'v1', kind: 'Service', metadata: { name: 'kubernetes', namespace: 'default' } },
    { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'other-app', namespace: 'nats', labels: { [PART_OF.key]: 'other-app' }, ...applied() } },
    { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'made-by-hand', namespace: 'nats', labels: ownerLabels('default'), ...applied(false) } },
    { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'echo-b', namespace: 'default', labels: ownerLabels('staging'), ...applied() } },
    { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'sh.helm.release.v1.nats.v1', namespace: 'nats', labels: { owner: 'helm' } } },
    { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'echo', namespace: 'old-echo', labels: ownerLabels('default'), ...applied() } },
    { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'old-echo', labels: ownerLabels('default'), ...applied() } },
  ];
  const others = OTHERS.map((o) => `${o.apiVersion} ${o.kind} ${o.metadata.namespace ?? ''}/${o.metadata.name}`);

  test('what left dist/ is shown by diff and pruned by apply; nothing else is, whoever made it', async () => {
    // GIVEN a cluster holding other objects (another instance's too), and our deployment of the defaults
    for (const object of OTHERS) server.seed(object);
    const first = await kubectl('apply', manifests('first', {}, CHART));
    expect(prunedObjects(first.stdout)).toEqual([]);
    expect(server.objects()).toEqual(expect.arrayContaining([
      'apps/v1 Deployment default/echo', 'networking.k8s.io/v1 Ingress default/echo-ingress-tls', 'policy/v1 PodDisruptionBudget nats/nats',
    ]));
    const before = server.objects();
    // WHEN http-echo is renamed, and a new chart version no longer renders its PodDisruptionBudget and names its ConfigMap anew
    const newChart = CHART.filter(([, kind]) => kind !== 'PodDisruptionBudget')
      .map(([apiVersion, kind, name]) => [apiVersion, kind, kind === 'ConfigMap' ? 'nats-server-config' : name] as const);
    const second = manifests('second', { echo: { name: 'hello' } }, newChart);
    // THEN kubectl diff shows the new objects and the ones that would be pruned, and changes nothing
    const diff = await kubectl('diff', second);
    expect(diff.code).toBe(1);
    expect(diffedObjects(diff.stdout).sort()).toEqual([
      'apps.v1.Deployment.default.echo', 'apps.v1.Deployment.default.hello',
      'networking.k8s.io.v1.Ingress.default.echo-ingress', 'networking.k8s.io.v1.Ingress.default.echo-ingress-tls',
      'networking.k8s.io.v1.Ingress.default.hello-ingress', 'networking.k8s.io.v1.Ingress.default.hello-ingress-tls',
      'policy.v1.PodDisruptionBudget.nats.nats', 'v1.ConfigMap.nats.nats-config', 'v1.ConfigMap.nats.nats-server-config',
      'v1.Service.default.echo', 'v1.Service.default.hello',
    ].sort());
    expect(server.objects()).toEqual(before);
    // WHEN up applies
    const applied2 = await kubectl('apply', second);
    // THEN kubectl pruned exactly the old echo objects, the PodDisruptionBudget and the old ConfigMap
    expect(prunedObjects(applied2.stdout).sort()).toEqual([
      'configmap/nats-config', 'deployment.apps/echo', 'ingress.networking.k8s.io/echo-ingress', 'ingress.networking.k8s.io/echo-ingress-tls',
      'poddisruptionbudget.policy/nats', 'service/echo',
    ]);
    const gone = ['apps/v1 Deployment default/echo', 'networking.k8s.io/v1 Ingress default/echo-ingress', 'networking.k8s.io/v1 Ingress default/echo-ingress-tls',
      'policy/v1 PodDisruptionBudget nats/nats', 'v1 ConfigMap nats/nats-config', 'v1 Service default/echo'];
    const added = ['apps/v1 Deployment default/hello', 'networking.k8s.io/v1 Ingress default/hello-ingress',
      'networking.k8s.io/v1 Ingress default/hello-ingress-tls', 'v1 ConfigMap nats/nats-server-config', 'v1 Service default/hello'];
    expect(server.objects()).toEqual([...before.filter((object) => !gone.includes(object)), ...added].sort());
    // ... and every object that is another's, not applied by kubectl, or in a namespace up no longer deploys to is still there
    expect(server.objects()).toEqual(expect.arrayContaining(others));
    // ... and nothing is left to change
    expect((await kubectl('diff', second)).code).toBe(0);
  });

  test('with nats.install helmchart, the HelmChart of a renamed release is pruned (k3s then uninstalls it)', async () => {
    // GIVEN k3s installing NATS from our HelmChart kube-system/nats
    await kubectl('apply', manifests('first', { nats: { install: 'helmchart' } }));
    expect(server.objects()).toContain('helm.cattle.io/v1 HelmChart kube-system/nats');
    // WHEN the release is renamed and up applies
    const second = await kubectl('apply', manifests('second', { nats: { install: 'helmchart', release: 'messaging' } }));
    // THEN the old HelmChart goes and the new one is there
    expect(prunedObjects(second.stdout)).toEqual(['helmchart.helm.cattle.io/nats']);
    expect(server.objects().filter((object) => object.includes('HelmChart'))).toEqual(['helm.cattle.io/v1 HelmChart kube-system/messaging']);
  });
});
