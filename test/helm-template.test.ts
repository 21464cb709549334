import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { parse, parseAllDocuments } from 'yaml';
import { parseConfig, type Config } from '../lib/config/config';
import { CONFIG_FILE } from '../lib/config/layout';
import { commandEnvironment } from '../lib/deploy/command-limits';
import { helmTemplateArgs, missingChartObjects, renderedDocument, renderProvenance } from '../lib/deploy/helm-render';
import { natsPodSelector } from '../lib/nats/chart';
import { natsNodeSpread } from '../lib/nats/values';
import { CHART_ANNOTATION_ALLOWANCE, fleetObjectSizes, lastAppliedBytes, renderedAuthorization } from '../lib/synth/object-size';
import { plannedStack } from '../lib/synth/stack';
import { closedPortUrl, HELM, runHelm, serveChartRepo, writeChart, type ChartRepo } from './support/chart-repo';
import { defaults, fleetIdentities } from './support/fixtures';
import type { ScriptResult } from './support/project-copy';
import { removeSandboxes, sandbox, withIssuedKeys } from './support/sandbox';

// The real helm (test/tools/helm, `npm run tools -- helm`) with exactly the arguments up builds,
// against a chart repository this file serves on 127.0.0.1: a chart of our own named `nats`, in the
// pinned version and beside it an older and a newer one.

const PINNED = defaults().nats.chart.version;
const dirs: string[] = [];
const tempDir = (name: string): string => {
  const dir = mkdtempSync(join(tmpdir(), `k3s-nats-tls-${name}-`));
  dirs.push(dir);
  return dir;
};

let repo: ChartRepo;
beforeAll(async () => {
    repo = await serveChartRepo(tempDir('chart-repo'), 'nats', ['2.14.1', PINNED, '9.0.0']);
});
afterAll(async () => {
  await repo?.close();
  removeSandboxes();
  dirs.splice(0).forEach((dir) => rmSync(dir, { recursive: true, force: true }));
});

interface ApiObject {
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  data?: Record<string, string>;
}
const objectsOf = (manifests: string): ApiObject[] => parseAllDocuments(manifests).map((document) => document.toJS() as ApiObject).filter(Boolean);

/** A user's helm state as `helm repo add` leaves it with the cache cleared since: the repository's index is not cached. */
function userHelmConfig(home: string): string {
  const file = join(home, '.config', 'helm', 'repositories.yaml');
  mkdirSync(join(file, '..'), { recursive: true });
  writeFileSync(file, 'apiVersion: ""\ngenerated: "0001-01-01T00:00:00Z"\nrepositories:\n- name: mirror\n  url: https://charts.example.invalid/\n');
  return file;
}

describe('helm template with the arguments up builds, run by the real helm', () => {
  let config: Config;
  let valuesPath: string;
  let values: Record<string, any>;
  beforeAll(() => {
    config = parseConfig({ nats: { chart: { repo: repo.url } } });
    // The values synth writes for this configuration, at an absolute path as up passes it.
    valuesPath = join(tempDir('values'), 'nats-values.yaml');
    writeFileSync(valuesPath, plannedStack(config).nats.valuesDocument);
    values = parse(readFileSync(valuesPath, 'utf8'));
  });

  /** helm as up runs it: up's environment for helm with a home of its own, in `cwd` (an empty folder unless given). */
  const template = (args: readonly string[], { cwd = tempDir('cwd'), env = {} }: { cwd?: string; env?: NodeJS.ProcessEnv } = {}) =>
    runHelm(args, { cwd, env: commandEnvironment('helm', { PATH: process.env.PATH, HOME: tempDir('home'), SSL_CERT_FILE: repo.caFile, ...env }, tempDir('helm-home')) });

  test('renders the pinned chart version from --repo with the values file up writes, and no test Pod', async () => {
    // GIVEN the repository holding 2.14.1, the pinned version and 9.0.0 WHEN helm renders with up's arguments
    const started = repo.requests.length;
    const result = await template(helmTemplateArgs(config.nats, valuesPath));
    // THEN it succeeds quietly, with the pinned version fetched from the repository
    expect([result.code, result.stderr]).toEqual([0, '']);
    expect(repo.requests.slice(started)).toEqual(['/index.yaml', `/nats-${PINNED}.tgz`]);
    const objects = objectsOf(result.stdout);
    expect(objects.map((object) => [object.kind, object.metadata.name, object.metadata.namespace, object.metadata.labels?.['helm.sh/chart']])).toEqual([
      ['PodDisruptionBudget', 'nats', 'nats', `nats-${PINNED}`],
      ['ConfigMap', 'nats-config', 'nats', `nats-${PINNED}`],
      ['Service', 'nats-headless', 'nats', `nats-${PINNED}`],
      ['Service', 'nats', 'nats', `nats-${PINNED}`],
      ['StatefulSet', 'nats', 'nats', `nats-${PINNED}`],
    ]);
    // ... the values reached the templates: the TLS settings, the CA and the mapped users
    const data = objects[1].data!;
    expect(JSON.parse(data['tls.json'])).toEqual({ enabled: true, secretName: 'nats-server-tls', merge: { verify_and_map: true } });
    expect(JSON.parse(data['tlsCA.json'])).toEqual(values.tlsCA);
    expect(JSON.parse(data['nats.conf'])).toEqual({ authorization: values.config.merge.authorization });
    expect(JSON.parse(data['nats.conf']).authorization.users.map((user: { user: string }) => user.user)).toContain('client1@example.com');
    // ... and up finds every object it relies on
    const provenance = renderProvenance(config.nats, config.instance, valuesPath, plannedStack(config).nats.valuesDocument);
    expect(missingChartObjects(result.stdout, provenance)).toEqual([]);
  });

  test('a fleet: synth\'s estimate of the ConfigMap holds its users byte for byte and bounds what kubectl\'s annotation will hold', async () => {
    // GIVEN 300 identities, each with its own rules, and the values synth writes for them
    const fleet = parseConfig({ nats: { chart: { repo: repo.url } }, pki: { identities: fleetIdentities(300) } });
    const stack = plannedStack(fleet);
    const fleetValues = join(tempDir('values'), 'nats-values.yaml');
    writeFileSync(fleetValues, stack.nats.valuesDocument);
    // WHEN helm renders them and up labels the result
    const result = await template(helmTemplateArgs(fleet.nats, fleetValues));
    expect([result.code, result.stderr]).toEqual([0, '']);
    const provenance = renderProvenance(fleet.nats, fleet.instance, fleetValues, stack.nats.valuesDocument);
    const configMap = objectsOf(renderedDocument(provenance, result.stdout)).find((object) => object.kind === 'ConfigMap')!;
    // THEN nats.conf holds exactly the authorization lines synth computed, in the short form: one subject for an allow list alone
    const authorization = renderedAuthorization(stack.nats.helmValues);
    expect(configMap.data!['nats.conf']).toContain(authorization);
    expect(authorization).toContain('"publish": "devices.dev7.>",\n');
    // ... and the estimate is at least what kubectl will store, by no more than its allowance
    const [estimate] = fleetObjectSizes(stack.nats);
    const annotation = lastAppliedBytes(configMap);
    expect(estimate.bytes).toBeGreaterThanOrEqual(annotation);
    expect(estimate.bytes - annotation).toBeLessThan(CHART_ANNOTATION_ALLOWANCE);
  });

  test('a three-server cluster: the StatefulSet\'s pods carry the node spread test/node-spread.test.ts schedules', async () => {
    // GIVEN the values synth writes for nats.replicas 3
    const cluster = parseConfig({ nats: { chart: { repo: repo.url }, replicas: 3 } });
    const clusterValues = join(tempDir('values'), 'nats-values.yaml');
    writeFileSync(clusterValues, plannedStack(cluster).nats.valuesDocument);
    // WHEN helm renders them THEN the pod template holds exactly natsNodeSpread of the chart's server-pod labels
    const result = await template(helmTemplateArgs(cluster.nats, clusterValues));
    expect([result.code, result.stderr]).toEqual([0, '']);
    const statefulSet = objectsOf(result.stdout).find((object) => object.kind === 'StatefulSet') as ApiObject & { spec: any };
    const podSelector = natsPodSelector(cluster.nats.release, cluster.nats.chart.name);
    expect(statefulSet.spec.template.spec.topologySpreadConstraints).toEqual([natsNodeSpread(podSelector)]);
    expect(statefulSet.spec.template.metadata.labels).toEqual(podSelector);
  });

  test('without --skip-tests the chart\'s test hook is printed as a plain Pod: the flag is what keeps it out', async () => {
    const result = await template(helmTemplateArgs(config.nats, valuesPath).filter((arg) => arg !== '--skip-tests'));
    expect(result.code).toBe(0);
    const pods = objectsOf(result.stdout).filter((object) => object.kind === 'Pod');
    expect(pods.map((pod) => [pod.metadata.name, pod.metadata.annotations?.['helm.sh/hook']])).toEqual([['nats-test-request', 'test']]);
  });

  test.each([
    ['a chart (another version)', (cwd: string) => writeChart(cwd, 'nats', '0.0.1'), 0, ''],
    ['a folder without Chart.yaml', (cwd: string) => mkdirSync(join(cwd, 'nats')), 1, 'Error: Chart.yaml file is missing'],
    ['a file', (cwd: string) => writeFileSync(join(cwd, 'nats'), 'notes\n'), 1, 'does not appear to be a gzipped archive'],
  ])('./nats in helm\'s working directory, %s, is used instead of --repo, with only a warning', async (_what, make, code, error) => {
    // GIVEN ./nats where helm runs
    const cwd = tempDir('cwd');
    make(cwd);
    // WHEN helm renders with up's arguments
    const started = repo.requests.length;
    const result = await template(helmTemplateArgs(config.nats, valuesPath), { cwd });
    // THEN the repository is not asked, and helm warns on stderr — yet exits 0 for a chart, rendering it
    expect(repo.requests.slice(started)).toEqual([]);
    expect(result.stderr).toContain(`local chart found in current working directory. repository url ignored chart=nats repository=${repo.url}`);
    expect(result.stderr).toContain(error);
    expect(result.code).toBe(code);
    const versions = new Set(objectsOf(result.stdout).map((object) => object.metadata.labels?.['helm.sh/chart']));
    expect([...versions]).toEqual(code === 0 ? ['nats-0.0.1'] : []);
  });

  test.each([
    ['in ~/.config/helm', (home: string) => (userHelmConfig(home), {})],
    ['named by HELM_REPOSITORY_CONFIG', (home: string) => ({ HELM_REPOSITORY_CONFIG: userHelmConfig(join(home, 'elsewhere')) })],
  ])('a user\'s repository list %s that breaks helm template does not reach helm, and helm writes nothing in their home', async (_where, userEnv) => {
    // GIVEN a user's repositories.yaml listing a repository whose index is not cached
    const home = tempDir('user-home');
    const env = { PATH: process.env.PATH, SSL_CERT_FILE: repo.caFile, HOME: home, ...userEnv(home) };
    const args = helmTemplateArgs(config.nats, valuesPath);
    // WHEN helm runs with the user's environment as it is THEN it fails on that repository, not ours
    const plain = await runHelm(args, { cwd: tempDir('cwd'), env });
    expect(plain.code).toBe(1);
    expect(plain.stderr).toMatch(/^Error: no cached repo found\. \(try 'helm repo update'\): open .*mirror-index\.yaml: no such file or directory\n$/);
    rmSync(join(home, '.cache'), { recursive: true, force: true });
    // WHEN it runs as up runs it THEN it renders, and the user's cache stays untouched
    const isolated = await runHelm(args, { cwd: tempDir('cwd'), env: commandEnvironment('helm', env, tempDir('helm-home')) });
    expect([isolated.code, isolated.stderr]).toEqual([0, '']);
    expect(existsSync(join(home, '.cache'))).toBe(false);
  });

  test('an unreachable repository: helm exits 1 with one line naming the repository', async () => {
    const url = await closedPortUrl();
    const closed = parseConfig({ nats: { chart: { repo: url } } });
    const result = await template(helmTemplateArgs(closed.nats, valuesPath));
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(new RegExp(`^Error: looks like "${url}" is not a valid chart repository or cannot be reached: .*connection refused\\n$`));
  });
});

describe('up renders the NATS chart with the real helm', () => {
  // One project: deployed from our repository, then pointed at one that does not answer.
  const box = sandbox(['kubectl']);
  const home = tempDir('user-home');
  const rendered = (): string => readFileSync(join(box.root, 'dist', 'helm', 'nats.yaml'), 'utf8');
  const up = (): Promise<ScriptResult> => {
    // Only helm from test/tools: the other real programs there must not stand in for kubectl's stand-in.
    const bin = join(tempDir('helm-bin'), 'bin');
    mkdirSync(bin);
    symlinkSync(HELM, join(bin, 'helm'));
    return box.up(['--context', 'staging', '--no-verify'], { PATH: `${box.fake.path}${delimiter}${bin}`, HOME: home, SSL_CERT_FILE: repo.caFile });
  };
  let first: ScriptResult;
  beforeAll(async () => {
    // GIVEN a project using our repository, holding a chart ./nats of its own, and a user whose
    // helm repository list would break helm template
    await withIssuedKeys(box);
    writeFileSync(join(box.root, CONFIG_FILE), `nats:\n  chart:\n    repo: ${repo.url}\n`);
    writeChart(box.root, 'nats', '0.0.1');
    userHelmConfig(home);
    // WHEN up deploys
    first = await up();
  }, 120_000);

  test('the pinned chart from the repository is rendered, not ./nats, and the user\'s helm folders stay untouched', () => {
    expect(first.stderr).toBe('');
    expect(first.code).toBe(0);
    expect(first.stdout).toContain(`✔ NATS chart — rendered chart nats ${PINNED} into dist/helm/nats.yaml`);
    const objects = objectsOf(rendered());
    expect(objects.map((object) => `${object.kind} ${object.metadata.name} ${object.metadata.labels?.['helm.sh/chart']}`)).toEqual([
      `PodDisruptionBudget nats nats-${PINNED}`, `ConfigMap nats-config nats-${PINNED}`, `Service nats-headless nats-${PINNED}`, `Service nats nats-${PINNED}`,
      `StatefulSet nats nats-${PINNED}`,
    ]);
    expect(JSON.parse(objects[1].data!['tls.json']).merge).toEqual({ verify_and_map: true });
    expect(existsSync(join(home, '.cache', 'helm'))).toBe(false);
  });

  test('an unreachable repository stops up at the NATS chart with one line naming helm and the repository', async () => {
    // GIVEN the configuration now names a repository where nothing listens
    const before = rendered();
    const url = await closedPortUrl();
    writeFileSync(join(box.root, CONFIG_FILE), `nats:\n  chart:\n    repo: ${url}\n`);
    box.clearCalls();
    // WHEN up runs again
    const result = await up();
    // THEN it stops there, names helm, the chart and the repository, and shows helm's own line
    expect(result.code).toBe(1);
    const lines = result.stderr.split('\n');
    expect(lines[0]).toBe(`✖ NATS chart failed: helm could not render chart nats ${PINNED} from ${url}: exited with code 1`);
    expect(lines[1]).toMatch(/^ {2}command: helm template /);
    expect(lines[2]).toMatch(new RegExp(`^ {2}│ Error: looks like "${url}" is not a valid chart repository or cannot be reached: .*connection refused$`));
    // ... nothing is applied and the former rendering is left as it was
    expect(box.calls().filter((call) => call.includes(' apply '))).toEqual([]);
    expect(rendered()).toBe(before);
  }, 120_000);
});
