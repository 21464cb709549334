import { loadConfig, type Config } from '../../config/config';
import { projectFolders } from '../../config/layout';
import { kubectlArgs, kubeContext } from '../../deploy/kubectl';
import { plannedStack, type Stack } from '../../synth/stack';
import type { Runbook } from '../runbook';

/** What every step of up works on: the configuration, loaded once, and what follows from it. */
export interface Deployment {
  readonly runbook: Runbook;
  readonly config: Config;
  /** The kubectl context deployed to. */
  readonly context: string;
  /** What the constructs create, by name: what the chart step renders and the rollout waits for. */
  readonly stack: Stack;
  readonly dist: string;
  /** Without --context up manages a k3d cluster. */
  readonly useK3d: boolean;
  /** --diff: compare with the cluster and change nothing. */
  readonly diffOnly: boolean;
  readonly helmChartInstall: boolean;
  /** The arguments of a kubectl call to this context. */
  readonly kubectl: (...args: string[]) => string[];
}

/** The Configuration step: loads the configuration and checks both folders, before anything is created or deployed. */
export function loadDeployment(runbook: Runbook, options: { namedContext: string | undefined; diffOnly: boolean }): Deployment {
  const config = loadConfig(runbook.root);
  const { dist } = projectFolders(runbook.root, config);
  const context = kubeContext(config.cluster, options.namedContext);
  return {
    runbook, config, context, dist,
    stack: plannedStack(config),
    useK3d: options.namedContext === undefined,
    diffOnly: options.diffOnly,
    helmChartInstall: config.nats.install === 'helmchart',
    kubectl: (...args) => kubectlArgs(context, ...args),
  };
}

export const describeDeployment = ({ config }: Deployment): string =>
  `cluster ${config.cluster.name}, NATS chart ${config.nats.chart.name} ${config.nats.chart.version} (nats.install: ${config.nats.install})`;

/**
 * How NATS is installed, for the preflight (whether helm is needed); a configuration that does not
 * load is reported by the Configuration step, with the tools checked as for the default.
 */
export function installMode(root: string): Config['nats']['install'] {
  try {
    return loadConfig(root).nats.install;
  } catch {
    return 'template';
  }
}
