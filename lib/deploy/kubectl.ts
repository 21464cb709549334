import { k3dContext, type ClusterConfig, type Config } from '../config/config';
import { NATS_RENDERED_FILE } from '../config/layout';
import { type NatsInstall } from '../constructs/defaults';
import { MANIFEST_SUFFIX } from '../synth/dist';
import type { StackFacts } from '../synth/stack';
import { KUBECTL_REQUEST_TIMEOUT } from './command-limits';

/** The kubectl calls of up and down, as data from the configuration: the context, the manifests in order, what to wait for. */

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

export interface RolloutTarget {
  readonly what: string;
  readonly resource: string;
  readonly namespace: string;
  /** Bounded: a pull of a missing image or a crash loop must not hang the script. */
  readonly timeout: string;
}

/** What to wait for: the workloads the constructs create, as they name them. */
export function rolloutTargets(stack: StackFacts): RolloutTarget[] {
  return [
    { what: 'http-echo', resource: stack.echo.rolloutResource, namespace: stack.echo.namespace, timeout: '180s' },
    { what: 'NATS', resource: stack.nats.rolloutResource, namespace: stack.nats.namespace, timeout: '300s' },
  ];
}
