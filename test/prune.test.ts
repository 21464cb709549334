import { execFile, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Testing } from 'cdk8s';
import { stringify } from 'yaml';
import { parseConfig } from '../lib/config/config';
import { renderedDocument, renderProvenance } from '../lib/deploy/helm-render';
import { kubectlArgs } from '../lib/deploy/plan';
import {
  diffedObjects, HELMCHART_KIND, PRUNABLE_KINDS, pruneAllowlist, prunedObjects, pruningArgs, unlabelledObjects,
} from '../lib/deploy/prune';
import { OWNER_LABEL } from '../lib/synth/ownership';
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
  ])('with %s, every object the stack creates carries the owner label, and every kind of them but Namespace is prunable', (_name, raw) => {
    // GIVEN the stack of this configuration
    const config = parseConfig(raw);
    const app = Testing.app();
    defineStack(app, config, { ...FAKE_TLS, route: { cert: FAKE_TLS.serverCert, key: FAKE_TLS.serverKey } });
    const objects = appObjects(app);
    // THEN kubectl apply -l selects each of them
    for (const object of objects) expect([object.kind, object.metadata.name, object.metadata.labels?.[OWNER_LABEL.key]]).toEqual(
      [object.kind, object.metadata.name, OWNER_LABEL.value],
    );
    // ... and an object of any of their kinds that leaves dist/ is pruned, unless it is a Namespace
    const kinds = [...new Set(objects.filter((object) => object.kind !== 'Namespace').map(allowlistKind))];
    expect(pruneAllowlist(config.nats.install)).toEqual(expect.arrayContaining(kinds));
  });

  test('the kinds chart 2.14.2 renders (StatefulSet, Services, ConfigMap, PodDisruptionBudget, ServiceAccount) are prunable', () => {
    for (const kind of ['apps/v1/StatefulSet', 'core/v1/Service', 'core/v1/ConfigMap', 'policy/v1/PodDisruptionBudget', 'core/v1/ServiceAccount']) {
      expect(PRUNABLE_KINDS).toContain(kind);
    }
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
    const args = pruningArgs('apply', ['dist/0000-namespaces.k8s.yaml', 'dist/helm/nats.yaml'], 'template');
    expect(args).toEqual([
      'apply', '--prune', '-l', 'app.kubernetes.io/part-of=k3s-nats-tls',
      ...PRUNABLE_KINDS.map((kind) => `--prune-allowlist=${kind}`),
      '-f', 'dist/0000-namespaces.k8s.yaml', '-f', 'dist/helm/nats.yaml',
    ]);
    expect(pruningArgs('diff', ['a.yaml'], 'helmchart')).toEqual(['diff', ...pruningArgs('apply', ['a.yaml'], 'helmchart').slice(1)]);
  });

  test.each(['apply', 'diff'] as const)('the real kubectl accepts every flag of `kubectl %s` as up passes them', (verb) => {
    // GIVEN a manifest and an API server address where nothing listens
    const dir = mkdtempSync(join(tmpdir(), 'k3s-nats-tls-prune-'));
    try {
      const manifest = join(dir, 'a.yaml');
      writeFileSync(manifest, `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\n  namespace: nats\n  labels:\n    ${OWNER_LABEL.key}: ${OWNER_LABEL.value}\n`);
      writeFileSync(join(dir, 'kubeconfig'), '');
      // WHEN kubectl runs with up's arguments
      const result = spawnSync('kubectl', [
        '--server=http://127.0.0.1:1', '--token=unused', '--request-timeout=5s', ...pruningArgs(verb, [manifest], 'helmchart'),
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
  const labelled = (kind: string, name: string, value: string = OWNER_LABEL.value): string =>
    `---\napiVersion: v1\nkind: ${kind}\nmetadata:\n  name: ${name}\n  labels:\n    ${OWNER_LABEL.key}: ${value}\n`;

  test('objects without the label, or with another value, are named; empty documents are not objects', () => {
    const manifest = [
      labelled('Service', 'ours'),
      '---\napiVersion: v1\nkind: Service\nmetadata:\n  name: bare\n',
      labelled('ConfigMap', 'theirs', 'someone-else'),
      '---\n# Source: nats/templates/empty.yaml\n',
    ].join('');
    expect(unlabelledObjects(manifest)).toEqual(['Service bare', 'ConfigMap theirs']);
    expect(unlabelledObjects(labelled('Service', 'ours'))).toEqual([]);
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
  // in-memory API server (test/support/fake-api-server.ts).
  const CONTEXT = 'k3d-dev';
  const LAST_APPLIED = 'kubectl.kubernetes.io/last-applied-configuration';
  let dir: string;
  let server: FakeApiServer;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'k3s-nats-tls-kubectl-'));
    server = await startFakeApiServer();
    writeFileSync(join(dir, 'kubeconfig'), stringify({
      apiVersion: 'v1', kind: 'Config', 'current-context': CONTEXT,
      clusters: [{ name: 'fake', cluster: { server: server.url } }],
      users: [{ name: 'fake', user: { token: 'unused' } }],
      contexts: [{ name: CONTEXT, context: { cluster: 'fake', user: 'fake' } }],
    }));
  });
  afterAll(async () => {
    await server.close();
    rmSync(dir, { recursive: true, force: true });
  });

  /** The manifests up would apply for this configuration, in apply order; `chartKinds` stand for helm's output. */
  function manifests(round: string, raw: object, chartKinds: readonly (readonly [string, string, string])[]): string[] {
    const config = parseConfig(raw);
    const app = Testing.app();
    defineStack(app, config, FAKE_TLS);
    const files = app.charts.map((chart, index) => {
      const file = join(dir, `${round}-${index}.k8s.yaml`);
      writeFileSync(file, (chart.toJson() as object[]).map((object) => `---\n${stringify(object)}`).join(''));
      return file;
    });
    const helmOutput = chartKinds.map(([apiVersion, kind, name]) =>
      `---\n# Source: nats/templates/${kind}.yaml\napiVersion: ${apiVersion}\nkind: ${kind}\nmetadata:\n  name: ${name}\n  namespace: nats\n`).join('');
    const rendered = join(dir, `${round}-nats.yaml`);
    writeFileSync(rendered, renderedDocument(renderProvenance(config.nats, 'nats-values.yaml', ''), helmOutput));
    return [...files, rendered];
  }

  const apply = async (files: string[]): Promise<string> => {
    const args = kubectlArgs(CONTEXT, ...pruningArgs('apply', files, 'template'));
    const { stdout } = await promisify(execFile)('kubectl', args, {
      encoding: 'utf8', timeout: 60_000, env: { ...process.env, KUBECONFIG: join(dir, 'kubeconfig'), HOME: dir },
    });
    return stdout;
  };

  const applied = (annotations = true) => (annotations ? { annotations: { [LAST_APPLIED]: '{}' } } : {});
  const ours = { [OWNER_LABEL.key]: OWNER_LABEL.value };
  const CHART = [
    ['apps/v1', 'StatefulSet', 'nats'], ['v1', 'Service', 'nats'], ['v1', 'Service', 'nats-headless'], ['v1', 'ConfigMap', 'nats-config'],
    ['policy/v1', 'PodDisruptionBudget', 'nats'],
  ] as const;
  /** Objects that are not ours, or that kubectl did not apply, or that live where up no longer deploys. */
  const OTHERS: StoredObject[] = [
    { apiVersion: 'v1', kind: 'Service', metadata: { name: 'kubernetes', namespace: 'default' } },
    { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'other-app', namespace: 'nats', labels: { [OWNER_LABEL.key]: 'other-app' }, ...applied() } },
    { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'made-by-hand', namespace: 'nats', labels: ours, ...applied(false) } },
    { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'sh.helm.release.v1.nats.v1', namespace: 'nats', labels: { owner: 'helm' } } },
    { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'echo', namespace: 'old-echo', labels: ours, ...applied() } },
    { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'old-echo', labels: ours, ...applied() } },
  ];
  const others = OTHERS.map((o) => `${o.apiVersion} ${o.kind} ${o.metadata.namespace ?? ''}/${o.metadata.name}`);

  test('what left dist/ is pruned; nothing else is, whoever made it', async () => {
    // GIVEN a cluster holding other objects, and our deployment of the defaults
    for (const object of OTHERS) server.seed(object);
    const first = await apply(manifests('first', {}, CHART));
    expect(prunedObjects(first)).toEqual([]);
    expect(server.objects()).toEqual(expect.arrayContaining([
      'apps/v1 Deployment default/echo', 'networking.k8s.io/v1 Ingress default/echo-ingress-tls', 'policy/v1 PodDisruptionBudget nats/nats',
    ]));
    const before = server.objects();
    // WHEN http-echo is renamed and the chart no longer renders its PodDisruptionBudget, and up applies again
    const second = await apply(manifests('second', { echo: { name: 'hello' } }, CHART.slice(0, -1)));
    // THEN kubectl pruned exactly the old echo objects and the PodDisruptionBudget
    expect(prunedObjects(second).sort()).toEqual([
      'deployment.apps/echo', 'ingress.networking.k8s.io/echo-ingress', 'ingress.networking.k8s.io/echo-ingress-tls', 'poddisruptionbudget.policy/nats',
      'service/echo',
    ]);
    const gone = ['apps/v1 Deployment default/echo', 'networking.k8s.io/v1 Ingress default/echo-ingress', 'networking.k8s.io/v1 Ingress default/echo-ingress-tls',
      'policy/v1 PodDisruptionBudget nats/nats', 'v1 Service default/echo'];
    const added = ['apps/v1 Deployment default/hello', 'networking.k8s.io/v1 Ingress default/hello-ingress',
      'networking.k8s.io/v1 Ingress default/hello-ingress-tls', 'v1 Service default/hello'];
    expect(server.objects()).toEqual([...before.filter((object) => !gone.includes(object)), ...added].sort());
    // ... and every object that is not ours, not applied by kubectl, or in a namespace up no longer deploys to is still there
    expect(server.objects()).toEqual(expect.arrayContaining(others));
  });
});
