import { isDeepStrictEqual } from 'node:util';
import { parse as parseYaml } from 'yaml';
import { echoUrl, k3dContext, natsUrl, type ClusterConfig, type Config, type NatsConfig } from '../config/config';
import { NATS_RENDERED_FILE } from '../config/layout';
import { K3S_HELMCHART_NAMESPACE, k3sHelmChartName, type NatsInstall } from '../constructs/nats-mutual-tls';
import { pkiPaths } from '../pki/paths';
import { MANIFEST_SUFFIX } from '../synth/dist';
import { isOwnedBy } from '../synth/ownership';
import type { Stack } from '../synth/stack';
import { displayPath } from '../util/display-path';
import { KUBECTL_REQUEST_TIMEOUT } from './command-limits';
import { k3dVersionProblem } from './k3d';

/**
 * What scripts/up.mjs and scripts/down.mjs do, as data derived from the configuration: the tools
 * they need, the order of manifests, what to wait for and what to tell the user. Kept out of the
 * scripts so the scripts read like a runbook and no configuration value is spelled twice.
 */

export interface ToolCheck {
  readonly tool: string;
  /** A harmless command that only succeeds when the tool works (for docker: the engine answers). */
  readonly probe: readonly string[];
  readonly missingHint: string;
  readonly brokenHint: string;
  /** What is wrong with the probe's output (a tool of the wrong major version), if anything. */
  readonly outputProblem?: (stdout: string) => string | undefined;
}

const TOOLS: Record<'docker' | 'k3d' | 'kubectl' | 'helm', ToolCheck> = {
  docker: {
    tool: 'docker', probe: ['info'],
    missingHint: 'install Docker Engine (https://docs.docker.com/engine/install/) or Docker Desktop, then start it',
    brokenHint: 'the Docker engine does not answer: start it (e.g. `sudo systemctl start docker`) or make /var/run/docker.sock accessible to you',
  },
  k3d: {
    tool: 'k3d', probe: ['version'],
    missingHint: 'install k3d v5 (https://k3d.io/#installation)',
    brokenHint: 'reinstall k3d v5 (https://k3d.io/#installation)',
    outputProblem: k3dVersionProblem,
  },
  kubectl: {
    tool: 'kubectl', probe: ['version', '--client'],
    missingHint: 'install kubectl (https://kubernetes.io/docs/tasks/tools/)',
    brokenHint: 'reinstall kubectl (https://kubernetes.io/docs/tasks/tools/)',
  },
  helm: {
    tool: 'helm', probe: ['version', '--short'],
    missingHint: 'install Helm 3 (https://helm.sh/docs/intro/install/)',
    brokenHint: 'reinstall Helm 3 (https://helm.sh/docs/intro/install/)',
  },
};

/**
 * Oldest kubectl `up` works with: `--prune-allowlist` exists since 1.26, and before 1.27 `kubectl diff
 * --prune` ignored `-l`, so `up --diff` would have listed everyone's objects as pruned.
 */
export const KUBECTL_MIN_MINOR = 27;

/** What is wrong with `kubectl version --client`'s output for up, if anything. */
export function kubectlVersionProblem(versionOutput: string): string | undefined {
  const match = /^Client Version: v(\d+)\.(\d+)\.\d+/m.exec(versionOutput);
  if (!match) return `\`kubectl version --client\` printed no "Client Version: v1.x.y" line (${versionOutput.trim().split('\n')[0] || 'nothing'})`;
  const [major, minor] = [Number(match[1]), Number(match[2])];
  if (major === 1 && minor < KUBECTL_MIN_MINOR) {
    return `this is kubectl 1.${minor}, but up needs 1.${KUBECTL_MIN_MINOR} or later to prune (\`--prune-allowlist\`, \`kubectl diff --prune -l\`) — ` +
      'install a current kubectl (https://kubernetes.io/docs/tasks/tools/)';
  }
  return undefined;
}

/**
 * Tools `up` needs; with an existing kubectl context there is no k3d cluster to manage, and with
 * `nats.install: helmchart` the cluster's helm controller renders the chart, not our helm.
 */
export const upTools = (useK3d: boolean, install: NatsInstall = 'template'): ToolCheck[] => [
  ...(useK3d ? [TOOLS.docker, TOOLS.k3d] : []),
  { ...TOOLS.kubectl, outputProblem: kubectlVersionProblem },
  ...(install === 'template' ? [TOOLS.helm] : []),
];

/** Tools `down` needs: k3d deletes the cluster, or kubectl deletes our objects from a context. */
export const downTools = (useK3d: boolean): ToolCheck[] => (useK3d ? [TOOLS.docker, TOOLS.k3d] : [TOOLS.kubectl]);

/** The kubectl context to deploy to: the one named on the command line, else the one k3d writes. */
export const kubeContext = (cluster: ClusterConfig, named: string | undefined): string => named ?? k3dContext(cluster);

/**
 * Arguments of a kubectl call that reaches the cluster. Each API request is bounded: an API server
 * that accepts the connection and never answers would otherwise keep kubectl waiting. `rollout
 * status` gets the bound too: it watches through an informer that re-opens a watch the bound cuts,
 * so only its own --timeout ends the wait.
 */
export const kubectlArgs = (context: string, ...args: string[]): string[] =>
  ['--context', context, `--request-timeout=${KUBECTL_REQUEST_TIMEOUT}`, ...args];

/**
 * Manifests in apply order, relative to dist/: synth's files in lexical order (cdk8s numbers them
 * so namespaces come first and the TLS Secret precedes what uses it), then the rendered NATS chart,
 * which mounts that Secret. `down` deletes them in the reverse order.
 */
export function applyOrder(distFiles: readonly string[], install: NatsInstall = 'template'): string[] {
  const synthesized = distFiles.filter((name) => name.endsWith(MANIFEST_SUFFIX)).sort();
  // With helmchart k3s installs NATS from the HelmChart in the synthesized files: applying a
  // rendering as well would install it twice, with two owners fighting over the same objects.
  return install === 'template' ? [...synthesized, NATS_RENDERED_FILE] : synthesized;
}

/** The namespaces this configuration's objects live in (built-in ones included: echo may run in `default`). */
export const stackNamespaces = (config: Config): string[] => [...new Set([config.nats.namespace, config.echo.namespace])];

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

/**
 * The API server's answer when an apply changes a StatefulSet field that cannot change, such as the
 * volume claims JetStream adds or resizes: the way out, or undefined for any other failure. Deleting
 * only the StatefulSet (`--cascade=orphan`) keeps its pods running and its volumes; the next up
 * creates it anew, and it adopts the pods.
 */
export function immutableStatefulSetHint(output: string, nats: { readonly namespace: string; readonly rolloutResource: string }): string | undefined {
  if (!/The StatefulSet "[^"]+" is invalid: spec: Forbidden: updates to statefulset spec for fields other than/.test(output)) return undefined;
  return `the StatefulSet's volume claims (nats.jetstream) cannot change in place: delete the StatefulSet alone, keeping its pods and volumes, ` +
    `then run up again: kubectl -n ${nats.namespace} delete ${nats.rolloutResource} --cascade=orphan`;
}

/** kubectl diff runs an external `diff -u -N` (up clears KUBECTL_EXTERNAL_DIFF): the way out when it cannot. */
export function kubectlDiffToolHint(output: string): string | undefined {
  if (!/failed to run "[^"]*": executable file not found/.test(output)) return undefined;
  return 'kubectl diff runs the `diff` program, which is not on PATH: install it (Debian: `apt-get install diffutils`)';
}

export interface RolloutTarget {
  readonly what: string;
  readonly resource: string;
  readonly namespace: string;
  /** Bounded: a pull of a missing image or a crash loop must not hang the script. */
  readonly timeout: string;
}

/** What to wait for: the workloads the constructs create, as they name them. */
export function rolloutTargets(stack: Stack): RolloutTarget[] {
  return [
    { what: 'http-echo', resource: stack.echo.rolloutResource, namespace: stack.echo.namespace, timeout: '180s' },
    { what: 'NATS', resource: stack.nats.rolloutResource, namespace: stack.nats.namespace, timeout: '300s' },
  ];
}

/** What the server (or the CLI itself) does with a client command: the seed recipe's three outcomes. */
export type ClientOutcome = 'admitted' | 'not-authorized' | 'server-untrusted';

export interface ClientCommand {
  readonly identity: string;
  readonly outcome: ClientOutcome;
  /** The command line, as the summary and the README print it. */
  readonly command: string;
  /** What happens, for the summary's comment: `client1: works`, `client2: refused (Authorization Violation)`. */
  readonly note: string;
}

/**
 * `nats` CLI commands proving the mapping, in the seed recipe's order: each identity publishes with
 * its own certificate and our CA, the authorized ones get in and the others are refused; and the
 * first authorized identity once more without `--tlsca`, where the CLI checks the server against the
 * system CAs and refuses it. Paths are relative to `root`, the folder the user runs them from.
 */
export function natsClientCommands(config: Config, root: string): ClientCommand[] {
  const paths = pkiPaths(config, root);
  const file = (path: string) => displayPath(path, root);
  const line = (name: string, withCa: boolean) => [
    'nats', '-s', natsUrl(config.cluster),
    '--tlscert', file(paths.identityCert(name)),
    '--tlskey', file(paths.identityKey(name)),
    ...(withCa ? ['--tlsca', file(paths.caCert)] : []),
    'pub', 'say', 'hi',
  ].join(' ');
  const firstAuthorized = config.pki.identities.find((identity) => identity.authorized);
  return config.pki.identities.flatMap(({ name, authorized }): ClientCommand[] => [
    authorized
      ? { identity: name, outcome: 'admitted', command: line(name, true), note: `${name}: works` }
      : { identity: name, outcome: 'not-authorized', command: line(name, true), note: `${name}: refused (Authorization Violation)` },
    ...(name === firstAuthorized?.name ? [{
      identity: name, outcome: 'server-untrusted' as const, command: line(name, false),
      note: `${name} without --tlsca: refused (x509: certificate signed by unknown authority)`,
    }] : []),
  ]);
}

/**
 * curl of http-echo over HTTPS, trusting only our CA. By name: Traefik picks the certificate by SNI,
 * which a client connecting to an IP address does not send (docs/gitops.md).
 */
export function echoHttpsCommand(config: Config, root: string): string {
  return `curl --cacert ${displayPath(pkiPaths(config, root).caCert, root)} https://localhost:${config.cluster.ports.https.host}`;
}

/** Flags of scripts/verify.mjs for this configuration. */
export function verifyArgs(config: Config, keysDir: string): string[] {
  return ['--echo-url', echoUrl(config.cluster), '--nats-url', natsUrl(config.cluster), '--keys', keysDir];
}
