import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { App } from 'cdk8s';
import { parseConfig, type Config } from '../../lib/config/config';
import { renderedDocument, renderProvenance } from '../../lib/deploy/helm-render';
import { pruningArgs } from '../../lib/deploy/prune';
import { DEFAULT_NATS_CHART } from '../../lib/nats/chart';
import { natsValuesDocument, natsValuesYaml, type NatsUser } from '../../lib/nats/values';
import { MANIFEST_SUFFIX } from '../../lib/synth/dist';
import { ANNOTATIONS_LIMIT, checkFleetSize, fleetObjectSizes, LAST_APPLIED_ANNOTATION } from '../../lib/synth/object-size';
import { defineStack, plannedStack } from '../../lib/synth/stack';
import { runHelm, writeChart } from '../support/chart-repo';
import { startControlPlane, type ControlPlane } from '../support/control-plane';
import { FAKE_TLS, fleetIdentities } from '../support/fixtures';

/**
 * A fleet's objects on the real API server (kube-apiserver 1.36 with etcd), applied as up applies
 * them: the Namespaces created, then one client-side `kubectl apply --prune` of synth's files and
 * the chart helm rendered from synth's values, labelled as up labels it. No key is issued: the
 * sizes come from the users, and the Secrets hold stand-in PEM text.
 */

let plane: ControlPlane;
const work = mkdtempSync(join(tmpdir(), 'fleet-size-'));
const chart = writeChart(join(work, 'chart'), DEFAULT_NATS_CHART.name, DEFAULT_NATS_CHART.version);
const repoRoot = join(__dirname, '..', '..');

beforeAll(async () => {
  plane = await startControlPlane();
});
afterAll(async () => {
  await plane?.stop();
  rmSync(work, { recursive: true, force: true });
});

let instances = 0;
/** A fleet of `count` as an instance of its own (namespace, node port), so that the tests' objects never meet. */
function fleet(count: number, install: 'template' | 'helmchart' = 'template'): Config {
  const instance = `fleet${++instances}`;
  return parseConfig({
    instance, nats: { install, namespace: instance, release: instance }, echo: { namespace: instance },
    cluster: { ports: { nats: { host: 4222, nodePort: 31400 + instances } } }, pki: { identities: fleetIdentities(count) },
  });
}

/** kubectl's output on stderr holds warnings alone (the stand-in PEM text of the Secrets is not a key the API server can read). */
const warningsOnly = (stderr: string): boolean => stderr.split('\n').every((line) => line === '' || line.startsWith('Warning: '));

let runs = 0;
/**
 * Synthesizes `config` into a folder of its own, renders the stand-in chart (chart 2.14.2's nats.conf
 * format) from `valuesDocument` (default: synth's), and applies everything as up does.
 */
async function applyAsUp(config: Config, valuesDocument?: string) {
  const dist = join(work, `dist-${++runs}`);
  const app = new App({ outdir: dist });
  const stack = defineStack(app, config, FAKE_TLS);
  app.synth();
  const files = readdirSync(dist).filter((name) => name.endsWith(MANIFEST_SUFFIX)).sort().map((name) => join(dist, name));
  const [namespaces, ...manifests] = files;
  await plane.kubectlResult(['create', '-f', namespaces]);
  if (config.nats.install === 'template') {
    const values = valuesDocument ?? stack.nats.valuesDocument;
    mkdirSync(join(dist, 'helm'));
    writeFileSync(join(dist, 'helm', 'nats-values.yaml'), values);
    const rendered = await runHelm(
      ['template', '--namespace', config.nats.namespace, '--skip-tests', '-f', join(dist, 'helm', 'nats-values.yaml'), '--', config.nats.release, chart],
      { cwd: work, env: { PATH: process.env.PATH, HOME: work } },
    );
    if (rendered.code !== 0) throw new Error(rendered.stderr);
    const file = join(dist, 'helm', 'nats.yaml');
    writeFileSync(file, renderedDocument(renderProvenance(config.nats, config.instance, 'nats-values.yaml', values), rendered.stdout));
    manifests.push(file);
  }
  return { stack, result: await plane.kubectlResult(pruningArgs('apply', manifests, config.nats.install, config.instance)) };
}

const tooLong = new RegExp(`metadata\\.annotations: Too long: may not be more than ${ANNOTATIONS_LIMIT} bytes|metadata\\.annotations: Too long: must have at most ${ANNOTATIONS_LIMIT} bytes`);

test('1,000 identities with rules of their own: the API server accepts every object up applies, as synth estimated', async () => {
  // GIVEN the configuration of a fleet of 1,000, which synth lets through
  const config = fleet(1000);
  // WHEN it is applied as up applies it
  const { stack, result } = await applyAsUp(config);
  // THEN every object is accepted
  expect([result.code, warningsOnly(result.stderr)]).toEqual([0, true]);
  expect(result.stdout).toContain(`configmap/${stack.nats.chartObjects.configMap} created`);
  // ... the ConfigMap holds the 1,000 users, and kubectl's annotation of it stays below synth's estimate and the limit
  const configMap = JSON.parse(await plane.kubectl(['-n', stack.nats.namespace, 'get', `configmap/${stack.nats.chartObjects.configMap}`, '-o', 'json']));
  expect(JSON.parse(configMap.data['nats.conf']).authorization.users).toHaveLength(1000);
  const annotation = LAST_APPLIED_ANNOTATION.length + configMap.metadata.annotations[LAST_APPLIED_ANNOTATION].length;
  const [estimate] = fleetObjectSizes(stack.nats);
  expect(annotation).toBeLessThanOrEqual(estimate.bytes);
  expect(estimate.bytes).toBeLessThanOrEqual(ANNOTATIONS_LIMIT);
  expect(() => checkFleetSize(stack.nats)).not.toThrow();
});

test('the previous nats.conf, every rule as {allow: [...]}, was refused at 1,000: kubectl\'s annotation of the ConfigMap is too long', async () => {
  // GIVEN the same fleet's values with the rules written out in full, as synth wrote them before
  const config = fleet(1000);
  const longForm: NatsUser[] = config.pki.identities.map(({ email, permissions }) => ({ user: email!, permissions }));
  const shipped = plannedStack(config).nats.helmValues;
  const longValues = { ...shipped, config: { ...shipped.config, merge: { ...shipped.config.merge, authorization: { users: longForm } } } };
  const values = natsValuesDocument(natsValuesYaml(longValues), config.nats.chart);
  // WHEN they are applied THEN the API server refuses the ConfigMap for its annotation
  const { stack, result } = await applyAsUp(config, values);
  expect(result.code).toBe(1);
  expect(result.stderr).toContain(`ConfigMap "${stack.nats.chartObjects.configMap}" is invalid`);
  expect(result.stderr).toMatch(tooLong);
});

test('past synth\'s limit the API server refuses too: 1,400 identities, which synth stops before writing anything', async () => {
  const { stack, result } = await applyAsUp(fleet(1400));
  expect(() => checkFleetSize(stack.nats)).toThrow(new RegExp(
    `^pki\\.identities: 1,400 authorized identities make the ConfigMap ${stack.nats.namespace}/${stack.nats.chartObjects.configMap} that up applies`,
  ));
  expect(result.code).toBe(1);
  expect(result.stderr).toMatch(tooLong);
});

test('nats.install helmchart at 1,000: the API server stores the HelmChart carrying the values', async () => {
  await plane.kubectl(['apply', '-f', join(repoRoot, 'imports', 'helmchart-crd.yaml')]);
  await plane.kubectl(['wait', '--for=condition=Established', 'crd/helmcharts.helm.cattle.io', '--timeout=60s']);
  const { stack, result } = await applyAsUp(fleet(1000, 'helmchart'));
  expect([result.code, warningsOnly(result.stderr)]).toEqual([0, true]);
  const helmChart = JSON.parse(await plane.kubectl(['-n', 'kube-system', 'get', `helmchart.helm.cattle.io/${stack.nats.helmChart!.name}`, '-o', 'json']));
  expect(helmChart.spec.valuesContent).toBe((stack.nats.helmChart!.toJson() as { spec: { valuesContent: string } }).spec.valuesContent);
  // the estimate of its annotation is exact: synth made the object
  expect(LAST_APPLIED_ANNOTATION.length + helmChart.metadata.annotations[LAST_APPLIED_ANNOTATION].length).toBe(fleetObjectSizes(stack.nats)[0].bytes);
});
