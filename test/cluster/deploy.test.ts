import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { ownerLabels } from '../../lib/synth/ownership';
import { removeSandboxes } from '../support/sandbox';
import { getJson, names, startHelmControllerStandIn, startRealCluster, type Project, type RealCluster } from './support';

/**
 * up, --diff, prune, the helmchart path and down against a real kube-apiserver 1.36 with its
 * controller-manager and scheduler (KWOK runs the pods), the real kubectl 1.36 and the real helm.
 * The tests run in order on one control plane, as a user's deployments follow each other.
 */

const OURS = ownerLabels('default');
const ECHO_KINDS = 'deployments,services,ingresses';
let cluster: RealCluster;
let project: Project;

beforeAll(async () => {
  cluster = await startRealCluster({ nodes: 1, volumes: { names: ['pv-0', 'pv-1', 'pv-2'], size: '1Gi' } });
  project = await cluster.project();
}, 240_000);

afterAll(async () => {
  await cluster?.stop();
  removeSandboxes();
});

const objectsOf = (file: string): any[] =>
  parseAllDocuments(readFileSync(join(project.box.root, file), 'utf8')).map((document) => document.toJS()).filter(Boolean);

test('up deploys: the Namespace with our labels, the Secrets as synthesized, the NodePort selecting the NATS pod, and real rollouts', async () => {
  // WHEN up deploys to the control plane's context
  const result = await project.up();
  // THEN it succeeds; rollout status really waited for KWOK's Running pods
  expect(result.stderr).toBe('');
  expect(result.code).toBe(0);
  expect(result.stdout).toContain('✔ Apply — created namespace(s) nats; 4 file(s) applied to context test-control-plane; nothing to prune');
  expect(result.stdout).toContain('✔ Rollout — deployment/echo and statefulset/nats ready');
  const { plane } = cluster;
  expect((await getJson(plane, ['namespace', 'nats'])).metadata.labels).toMatchObject(OURS);
  // ... every Secret reads back as synth wrote it
  const secrets = objectsOf('dist/0001-nats-tls.k8s.yaml');
  expect(secrets.map((secret) => secret.metadata.name).sort()).toEqual(['echo-tls', 'nats-server-tls']);
  for (const secret of secrets) {
    const live = await getJson(plane, ['-n', secret.metadata.namespace ?? 'default', 'secret', secret.metadata.name]);
    expect([secret.metadata.name, live.data]).toEqual([secret.metadata.name, secret.data]);
    expect(live.metadata.labels).toMatchObject(OURS);
  }
  // ... the NodePort is on 31400 and its selector finds exactly the NATS server pod (an EndpointSlice with one endpoint)
  const nodePort = await getJson(plane, ['-n', 'nats', 'service', 'nats-np']);
  expect(nodePort.spec.ports).toEqual([expect.objectContaining({ name: 'nats', nodePort: 31400, port: 4222, targetPort: 'nats' })]);
  const slices = await getJson(plane, ['-n', 'nats', 'endpointslices', '-l', 'kubernetes.io/service-name=nats-np']);
  expect(slices.items.flatMap((slice: any) => slice.endpoints ?? []).map((endpoint: any) => endpoint.targetRef.name)).toEqual(['nats-0']);
  // ... and the rendered chart's objects carry our labels as well as the chart's
  expect((await getJson(plane, ['-n', 'nats', 'statefulset', 'nats'])).metadata.labels).toMatchObject({ ...OURS, 'app.kubernetes.io/instance': 'nats' });
  expect((await getJson(plane, ['-n', 'default', 'deployment', 'echo'])).status.availableReplicas).toBe(1);
}, 240_000);

test('a second up changes nothing: --diff exits 0; without the diff program kubectl runs, --diff says what to install', async () => {
  expect((await project.up()).code).toBe(0);
  const noDiff = await project.up(['--diff'], { withDiff: false });
  expect(noDiff.code).toBe(1);
  expect(noDiff.stderr).toContain('error: failed to run "diff": executable file not found in $PATH');
  expect(noDiff.stderr).toContain('kubectl diff runs the `diff` program, which is not on PATH: install it (Debian: `apt-get install diffutils`)');
  const diff = await project.up(['--diff']);
  expect(diff.stderr).toBe('');
  expect(diff.stdout).toContain('✔ Diff — nothing would change in context test-control-plane');
  expect(diff.code).toBe(0);
}, 240_000);

test('a change of the configuration: --diff exits 1 naming the object, and applies nothing', async () => {
  project.configure({ echo: { text: 'Hello again' } });
  const diff = await project.up(['--diff']);
  expect(diff.code).toBe(1);
  expect(diff.stdout).toContain('✔ Diff — 1 object(s) would change or be pruned: apps.v1.Deployment.default.echo');
  expect(diff.stdout).toContain('Hello again');
  const live = await getJson(cluster.plane, ['-n', 'default', 'deployment', 'echo']);
  expect(JSON.stringify(live.spec.template.spec.containers[0].args)).not.toContain('Hello again');
  project.configure({});
}, 240_000);

test('prune: a renamed echo takes its old objects away; an unlabelled object and another instance\'s of the same kinds stay', async () => {
  const { plane } = cluster;
  // GIVEN another app's ConfigMap and Service and another instance's Deployment in echo's namespace
  await plane.kubectl(['-n', 'default', 'create', 'configmap', 'someone-else']);
  await plane.kubectl(['-n', 'default', 'create', 'service', 'clusterip', 'unlabelled', '--tcp=80:80']);
  await plane.kubectl(['-n', 'default', 'create', 'deployment', 'staging-echo', '--image=hashicorp/http-echo:1.0.0']);
  await plane.kubectl(['-n', 'default', 'label', 'deployment', 'staging-echo', 'app.kubernetes.io/part-of=k3s-nats-tls', 'k3s-nats-tls/instance=staging']);
  // WHEN echo is renamed and up runs
  project.configure({ echo: { name: 'hello' } });
  const result = await project.up();
  // THEN kubectl pruned exactly the old echo objects, and the others are there
  expect(result.code).toBe(0);
  expect(result.stdout).toMatch(/pruned (deployment\.apps\/echo|service\/echo|ingress\.networking\.k8s\.io\/echo-ingress(-tls)?)(, |$)/m);
  expect(await names(plane, 'default', ECHO_KINDS)).toEqual([
    'Deployment/hello', 'Deployment/staging-echo', 'Ingress/hello-ingress', 'Ingress/hello-ingress-tls', 'Service/hello', 'Service/kubernetes', 'Service/unlabelled',
  ]);
  expect(await names(plane, 'default', 'configmaps')).toEqual(expect.arrayContaining(['ConfigMap/someone-else']));
}, 240_000);

test('another instance with the same names is refused before anything changes', async () => {
  // GIVEN a second project, instance staging, whose echo is also called hello
  const other = await cluster.project({ instance: 'staging', echo: { name: 'hello' } });
  const before = await getJson(cluster.plane, ['-n', 'default', 'deployment', 'hello']);
  // WHEN it runs up
  const result = await other.up();
  // THEN it names the first object it would take over, its owner and the way out; nothing changed
  expect(result.code).toBe(1);
  expect(result.stderr).toContain('(instance default)');
  expect(result.stderr).toContain('deployment/hello in namespace default (instance default)');
  expect(result.stderr).toContain("are not instance staging's: applying would take them over");
  expect(result.stderr).toContain('give this instance names of its own');
  const after = await getJson(cluster.plane, ['-n', 'default', 'deployment', 'hello']);
  expect(after.metadata.resourceVersion).toBe(before.metadata.resourceVersion);
  expect(after.metadata.labels).toMatchObject(OURS);
}, 240_000);

test('nats.install helmchart: the API server stores our HelmChart (CRD from imports/); k3s\'s controller installs it; back to template removes it', async () => {
  const { plane } = cluster;
  const repoRoot = join(__dirname, '..', '..');
  await plane.kubectl(['apply', '-f', join(repoRoot, 'imports', 'helmchart-crd.yaml')]);
  await plane.kubectl(['wait', '--for=condition=Established', 'crd/helmcharts.helm.cattle.io', '--timeout=60s']);
  const controller = startHelmControllerStandIn(plane, cluster.repo);
  try {
    // WHEN the configuration switches to helmchart
    project.configure({ echo: { name: 'hello' }, nats: { install: 'helmchart' } });
    const result = await project.up();
    // THEN the rendering's objects went by label, the HelmChart is stored and validated, and the install was awaited
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    const helmChart = await getJson(plane, ['-n', 'kube-system', 'helmchart', 'nats']);
    expect(helmChart.metadata.labels).toMatchObject(OURS);
    expect(helmChart.spec).toMatchObject({ chart: 'nats', repo: cluster.repo.url, targetNamespace: 'nats' });
    expect(controller.installed()).toEqual(['kube-system/nats']);
    // ... our NodePort and Secret stayed: only the chart's objects were deleted
    expect(await names(plane, 'nats', 'services,secrets')).toEqual(expect.arrayContaining(['Service/nats-np', 'Secret/nats-server-tls']));
    // WHEN it switches back to template
    project.configure({ echo: { name: 'hello' } });
    const back = await project.up();
    // THEN the HelmChart is gone (its release uninstalled first) and the rendering applied, ours again
    expect(back.stderr).toBe('');
    expect(back.code).toBe(0);
    expect(back.stdout).toContain("deleted helmchart.helm.cattle.io/nats (k3s's helm controller uninstalled NATS)");
    expect((await plane.kubectlResult(['-n', 'kube-system', 'get', 'helmchart', 'nats'])).code).not.toBe(0);
    expect((await getJson(plane, ['-n', 'nats', 'statefulset', 'nats'])).metadata.labels).toMatchObject(OURS);
  } finally {
    await controller.stop();
  }
}, 300_000);

test('turning JetStream on changes the StatefulSet\'s volume claims, which the API server refuses: up says how to get past it', async () => {
  const { plane } = cluster;
  project.configure({ echo: { name: 'hello' }, nats: { jetstream: { enabled: true, storage: '1Gi' } } });
  const refused = await project.up();
  expect(refused.code).toBe(1);
  expect(refused.stderr).toContain('updates to statefulset spec for fields other than');
  const way = 'kubectl -n nats delete statefulset/nats --cascade=orphan';
  expect(refused.stderr).toContain(`then run up again: ${way}`);
  // ... and that way works: the StatefulSet goes, its pod stays, and up creates it with the claims
  await plane.kubectl(way.split(' ').slice(1));
  const deployed = await project.up();
  expect([deployed.code, deployed.stderr]).toEqual([0, '']);
}, 300_000);

test('down --context --purge deletes exactly ours: our objects, the Namespace we created and our release\'s PVCs', async () => {
  const { plane } = cluster;
  const claims = await getJson(plane, ['-n', 'nats', 'pvc']);
  expect(claims.items.map((claim: any) => claim.metadata.name)).toEqual(['nats-js-nats-0']);
  // WHEN down --purge runs
  const result = await project.down(['--purge']);
  // THEN only our objects went; the other app's objects in default stayed; the nats Namespace (ours) is gone with its PVC
  expect(result.stderr).toBe('');
  expect(result.code).toBe(0);
  expect(await names(plane, 'default', ECHO_KINDS)).toEqual(['Deployment/staging-echo', 'Service/kubernetes', 'Service/unlabelled']);
  expect((await plane.kubectlResult(['get', 'namespace', 'nats'])).code).not.toBe(0);
  expect(await names(plane, 'default', 'configmaps')).toEqual(expect.arrayContaining(['ConfigMap/someone-else']));
}, 300_000);

test('down --context keeps a Namespace this instance did not create, deleting only our objects in it', async () => {
  const { plane } = cluster;
  // GIVEN a Namespace that existed before, with an object of someone else's, and echo deployed into it
  await plane.kubectl(['create', 'namespace', 'apps']);
  await plane.kubectl(['-n', 'apps', 'create', 'configmap', 'theirs']);
  project.configure({ echo: { namespace: 'apps' } });
  const deployed = await project.up();
  expect([deployed.code, deployed.stderr]).toEqual([0, '']);
  // ... up created only the Namespace that was missing, and left the other one's labels alone
  expect(deployed.stdout).toContain('created namespace(s) nats;');
  expect((await getJson(plane, ['namespace', 'apps'])).metadata.labels ?? {}).not.toHaveProperty('k3s-nats-tls/instance');
  // WHEN down runs
  const result = await project.down();
  // THEN apps and what was not ours in it stay, with down saying so; nats (ours) is gone
  expect([result.code, result.stderr]).toEqual([0, '']);
  expect(result.stdout).toContain('kept namespace(s) apps, which instance default did not create (only its objects were deleted)');
  expect(await names(plane, 'apps', `${ECHO_KINDS},configmaps`)).toEqual(['ConfigMap/kube-root-ca.crt', 'ConfigMap/theirs']);
  expect((await plane.kubectlResult(['get', 'namespace', 'nats'])).code).not.toBe(0);
}, 300_000);
