import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { stringify } from 'yaml';
import { CONFIG_FILE } from '../../lib/config/layout';
import { DEFAULT_NATS_CHART } from '../../lib/nats/chart';
import { runHelm, serveChartRepo, type ChartRepo } from '../support/chart-repo';
import { startControlPlane, type ControlPlane, type ControlPlaneOptions } from '../support/control-plane';
import type { ScriptResult } from '../support/project-copy';
import { sandbox, withIssuedKeys, type Sandbox } from '../support/sandbox';
import { BIN_DIR } from '../tools/build';

/**
 * The deploy scripts against real components: a control plane (test/support/control-plane.ts), the
 * real kubectl 1.36 and helm first on PATH, a chart repository on loopback. Only docker and k3d are
 * stand-ins (`--context` never calls them).
 */
export interface RealCluster {
  readonly plane: ControlPlane;
  readonly repo: ChartRepo;
  /** A project copy whose configuration is `config` plus the chart repository. */
  project(config?: ProjectConfig): Promise<Project>;
  stop(): Promise<void>;
}

/** A configuration file's content, as an object (`nats.chart.repo` is set to the test's repository). */
export type ProjectConfig = Record<string, any>;

export interface Project {
  readonly box: Sandbox;
  /** Replaces the configuration (the repository is always added). */
  configure(config: ProjectConfig): void;
  /** up --context with the real tools; `withDiff: false` leaves the `diff` program kubectl diff runs off PATH. */
  up(args?: readonly string[], options?: { withDiff?: boolean }): Promise<ScriptResult>;
  down(args?: readonly string[]): Promise<ScriptResult>;
}

export async function startRealCluster(options: ControlPlaneOptions = {}): Promise<RealCluster> {
  const dir = mkdtempSync(join(tmpdir(), 'k3s-nats-tls-real-'));
  const plane = await startControlPlane(options);
  let repo: ChartRepo;
  try {
    repo = await serveChartRepo(join(dir, 'charts'), DEFAULT_NATS_CHART.name, [DEFAULT_NATS_CHART.version]);
  } catch (error) {
    await plane.stop();
    throw error;
  }
  const home = join(dir, 'home');
  mkdirSync(home);
  // kubectl diff runs the machine's diff (diffutils); nothing else of the machine is on PATH.
  const diffDir = join(dir, 'diff-bin');
  mkdirSync(diffDir);
  symlinkSync('/usr/bin/diff', join(diffDir, 'diff'));
  const env = (box: Sandbox, withDiff = true): NodeJS.ProcessEnv => ({
    PATH: [BIN_DIR, box.fake.path, ...(withDiff ? [diffDir] : [])].join(delimiter),
    KUBECONFIG: plane.kubeconfig, HOME: home, SSL_CERT_FILE: repo.caFile,
  });
  const context = ['--context', plane.context];
  // A failed up shows the cluster as it was, below up's own words: what a test failure needs to be read.
  const withClusterState = async (result: ScriptResult): Promise<ScriptResult> => {
    if (result.code === 0) return result;
    const state = await plane.kubectlResult(['get', 'pods,pvc,events', '-A', '-o', 'wide']);
    return { ...result, stderr: `${result.stderr}\n[cluster state]\n${state.stdout}${state.stderr}` };
  };
  return {
    plane,
    repo,
    async project(config = {}) {
      const box = await withIssuedKeys(sandbox(['docker', 'k3d']));
      const configure = (next: ProjectConfig) => writeFileSync(join(box.root, CONFIG_FILE), stringify({
        ...next, nats: { ...next.nats, chart: { ...next.nats?.chart, repo: repo.url } },
      }));
      configure(config);
      return {
        box,
        configure,
        up: async (args = ['--no-verify'], { withDiff = true } = {}) => withClusterState(await box.up([...context, ...args], env(box, withDiff))),
        down: (args = []) => box.down([...context, ...args], env(box)),
      };
    },
    async stop() {
      await Promise.allSettled([plane.stop(), repo.close()]);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** `kubectl get … -o json` as an object. */
export async function getJson(plane: ControlPlane, args: readonly string[]): Promise<any> {
  return JSON.parse(await plane.kubectl(['get', ...args, '-o', 'json']));
}

/** `kind/name` of every object `kubectl get KINDS -o json` lists in `namespace`. */
export async function names(plane: ControlPlane, namespace: string, kinds: string): Promise<string[]> {
  const list = await getJson(plane, ['-n', namespace, kinds]);
  return (list.items as { kind: string; metadata: { name: string } }[]).map((item) => `${item.kind}/${item.metadata.name}`).sort();
}

export interface HelmControllerStandIn {
  /** The HelmCharts it installed, as `namespace/name`. */
  installed(): string[];
  stop(): Promise<void>;
}

const FINALIZER = 'wrangler.cattle.io/on-helm-chart-remove';

/**
 * What k3s's helm controller does with a HelmChart, which cannot run here: it takes the HelmChart
 * (adding its finalizer), installs the chart with the HelmChart's values (the real helm, the test's
 * repository) and records it as a completed `helm-install-<name>` Job (KWOK completes its pod); when
 * the HelmChart is deleted it uninstalls the release (every object labelled with the release and
 * managed by Helm) and removes the finalizer. It polls every half second until stopped.
 */
export function startHelmControllerStandIn(plane: ControlPlane, repo: ChartRepo): HelmControllerStandIn {
  const installed = new Set<string>();
  const work = mkdtempSync(join(tmpdir(), 'k3s-nats-tls-helm-controller-'));
  let stopped = false;
  let failure: Error | undefined;
  const helmEnv = { PATH: process.env.PATH, HOME: work, SSL_CERT_FILE: repo.caFile };
  const releaseSelector = (name: string) => `app.kubernetes.io/instance=${name},app.kubernetes.io/managed-by=Helm`;

  async function reconcile(chart: any): Promise<void> {
    const { name, namespace } = chart.metadata;
    const key = `${namespace}/${name}`;
    const target = chart.spec.targetNamespace;
    if (chart.metadata.deletionTimestamp) {
      await plane.kubectl(['-n', target, 'delete', 'statefulset,service,configmap,poddisruptionbudget,serviceaccount,secret', '-l', releaseSelector(name), '--ignore-not-found']);
      await plane.kubectl(['-n', namespace, 'delete', 'job', `helm-install-${name}`, '--ignore-not-found']);
      await plane.kubectl(['-n', namespace, 'patch', 'helmchart', name, '--type=json', '-p', '[{"op":"remove","path":"/metadata/finalizers"}]']);
      installed.delete(key);
      return;
    }
    if (installed.has(key)) return;
    if (!(chart.metadata.finalizers ?? []).includes(FINALIZER)) {
      await plane.kubectl(['-n', namespace, 'patch', 'helmchart', name, '--type=merge', '-p', JSON.stringify({ metadata: { finalizers: [FINALIZER] } })]);
    }
    const values = join(work, `${name}-values.yaml`);
    writeFileSync(values, chart.spec.valuesContent ?? '');
    const rendered = await runHelm(
      ['template', name, chart.spec.chart, '--repo', chart.spec.repo, '--version', chart.spec.version, '--namespace', target, '--skip-tests', '-f', values],
      { cwd: work, env: helmEnv },
    );
    if (rendered.code !== 0) throw new Error(`helm controller stand-in: helm template failed: ${rendered.stderr}`);
    const manifest = join(work, `${name}.yaml`);
    writeFileSync(manifest, rendered.stdout);
    await plane.kubectl(['-n', target, 'apply', '-f', manifest]);
    await plane.kubectl(['-n', namespace, 'create', 'job', `helm-install-${name}`, '--image=rancher/klipper-helm']);
    installed.add(key);
  }

  const loop = (async () => {
    while (!stopped) {
      try {
        const charts = await plane.kubectlResult(['get', 'helmcharts.helm.cattle.io', '-A', '-o', 'json']);
        if (charts.code === 0) for (const chart of JSON.parse(charts.stdout).items) await reconcile(chart);
      } catch (error) {
        // A HelmChart deleted between the list and the next call is no fault.
        if (!/NotFound|not found/.test(String(error))) failure ??= error as Error;
      }
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
  })();
  return {
    installed: () => [...installed],
    async stop() {
      stopped = true;
      await loop;
      rmSync(work, { recursive: true, force: true });
      if (failure) throw failure;
    },
  };
}
