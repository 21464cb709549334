import { isDeepStrictEqual } from 'node:util';
import { parse as parseYaml } from 'yaml';
import { type NatsConfig } from '../config/config';
import { K3S_HELMCHART_NAMESPACE, k3sHelmChartName } from '../constructs/defaults';
import { isOwnedBy } from '../synth/ownership';

/**
 * k3s's helm controller, as up meets it: whether a cluster has one, how long its install Job may
 * take, and what to do about a HelmChart that `nats.install: helmchart` left behind.
 */

/** The CRD of k3s's helm controller: without it a HelmChart is rejected, and nothing would install NATS. */
export const HELMCHART_CRD = 'crd/helmcharts.helm.cattle.io';

/**
 * How long `up` looks for the helm controller's install Job before waiting on it: the controller
 * creates it moments after the HelmChart is applied, so this only bounds a controller that is not running.
 */
export const HELM_JOB_POLL = { attempts: 30, intervalMs: 2000 } as const;

/** Bound on the helm controller's install Job: it downloads the chart, then installs it. */
export const HELM_JOB_TIMEOUT = '300s';

/**
 * Looks up the HelmChart `nats.install: helmchart` creates for this release, by name where k3s keeps
 * them: left behind after a switch to `template`, it would have k3s install NATS a second time, over
 * the rendering. Prints nothing when there is none.
 */
export const helmChartLookupArgs = (release: string): string[] =>
  ['-n', K3S_HELMCHART_NAMESPACE, 'get', `helmcharts.helm.cattle.io/${k3sHelmChartName(release)}`, '--ignore-not-found', '-o', 'json'];

/** kubectl's answer on a cluster without the HelmChart type (not k3s): nothing can be left behind. */
export const NO_HELMCHART_TYPE = /the server doesn't have a resource type "helmcharts"/;

export type LeftHelmChart =
  | { readonly verdict: 'none' }
  | { readonly verdict: 'delete'; readonly resource: string }
  | { readonly verdict: 'conflict'; readonly problem: string; readonly hint: string };

interface HelmChartObject {
  readonly metadata?: { readonly name?: string; readonly labels?: Record<string, unknown> };
  readonly spec?: {
    readonly chart?: string; readonly repo?: string; readonly version?: string; readonly targetNamespace?: string; readonly valuesContent?: string;
  };
}

/** Whether a HelmChart installs exactly this chart with exactly these values (what `helmchart` mode writes). */
function installsExactly(spec: NonNullable<HelmChartObject['spec']>, nats: NatsConfig, values: object): boolean {
  if (spec.chart !== nats.chart.name || spec.repo !== nats.chart.repo || spec.version !== nats.chart.version) return false;
  if (spec.targetNamespace !== nats.namespace) return false;
  try {
    return isDeepStrictEqual(parseYaml(spec.valuesContent ?? ''), JSON.parse(JSON.stringify(values)));
  } catch {
    return false;
  }
}

/**
 * What `template` does about the HelmChart named like its release (`getOutput`: helmChartLookupArgs'
 * output; `values`: the chart values this configuration gives). Deleted when it is this instance's
 * (wherever it installs: with `template` this instance has none), or when it carries no labels at
 * all (written before objects were labelled) and installs exactly our chart, version and values into
 * our namespace. A label of any other tool (Argo CD's, k3s's auto-deploy hash) makes it someone
 * else's: if it installs into our namespace it would fight the rendering, and up stops. One
 * installing elsewhere is left alone.
 */
export function leftHelmChart(getOutput: string, nats: NatsConfig, instance: string, values: object): LeftHelmChart {
  if (getOutput.trim() === '') return { verdict: 'none' };
  const helmChart = JSON.parse(getOutput) as HelmChartObject;
  const name = helmChart.metadata?.name ?? k3sHelmChartName(nats.release);
  const spec = helmChart.spec ?? {};
  const resource = `helmchart.helm.cattle.io/${name}`;
  if (isOwnedBy(helmChart.metadata?.labels, instance)) return { verdict: 'delete', resource };
  if (spec.targetNamespace !== nats.namespace) return { verdict: 'none' };
  const unlabelled = Object.keys(helmChart.metadata?.labels ?? {}).length === 0;
  if (unlabelled && installsExactly(spec, nats, values)) return { verdict: 'delete', resource };
  return {
    verdict: 'conflict',
    problem: `the HelmChart ${K3S_HELMCHART_NAMESPACE}/${name} (chart ${spec.chart ?? '?'} into namespace ${nats.namespace}) is not this ` +
      `instance's, and k3s would install release ${name} there over the rendering`,
    hint: `if it is left over, delete it (\`kubectl -n ${K3S_HELMCHART_NAMESPACE} delete ${resource}\`); otherwise choose another nats.release`,
  };
}

/**
 * Deletes it and waits, bounded, until it is gone: its finalizer has the helm controller uninstall
 * the release first, so the rendering is applied after.
 */
export const helmChartDeleteArgs = (resource: string): string[] =>
  ['-n', K3S_HELMCHART_NAMESPACE, 'delete', resource, '--ignore-not-found', '--wait', `--timeout=${HELM_JOB_TIMEOUT}`];

/** What to look at when k3s's helm controller does not do its part. */
export const helmControllerLookArgs = (): string[] => ['-n', K3S_HELMCHART_NAMESPACE, 'get', 'helmcharts,jobs,events'];
