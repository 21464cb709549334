import type { Config } from '../../config/config';
import { loadProject, type Project } from '../../config/project';
import { kubectlArgs, kubeContext } from '../../deploy/kubectl';
import type { StackFacts } from '../../synth/stack';
import { unchangedSynth, type StampedSynth } from '../../synth/synth-stamp';
import type { Runbook } from '../runbook';

/** The project as up resolves it, once per run: loaded, or why it does not load (the Configuration step reports it). */
export type LoadedProject = { readonly project: Project } | { readonly error: unknown };

export function tryLoadProject(root: string, env: NodeJS.ProcessEnv): LoadedProject {
  try {
    return { project: loadProject(root, env) };
  } catch (error) {
    return { error };
  }
}

/** What every step of up works on: the configuration, loaded once, and what follows from it. */
export interface Deployment {
  readonly runbook: Runbook;
  readonly project: Project;
  readonly config: Config;
  /** The kubectl context deployed to. */
  readonly context: string;
  readonly dist: string;
  /** Without --context up manages a k3d cluster. */
  readonly useK3d: boolean;
  /** --diff: compare with the cluster and change nothing. */
  readonly diffOnly: boolean;
  readonly helmChartInstall: boolean;
  /** The arguments of a kubectl call to this context. */
  readonly kubectl: (...args: string[]) => string[];
  /** What the last synth produced, when nothing it was made from has changed since (lib/synth/synth-stamp.ts); never in a dry run. */
  readonly unchanged?: StampedSynth;
}

/** A deployment past the Manifests step. */
export interface Synthesized extends Deployment {
  /** What the constructs create, by name (the tree synth built): what the chart step renders and the rollout waits for. */
  readonly stack: StackFacts;
}

/** The Configuration step: loads the configuration and checks both folders, before anything is created or deployed. */
export function loadDeployment(
  runbook: Runbook, loaded: LoadedProject, options: { namedContext: string | undefined; diffOnly: boolean; env: NodeJS.ProcessEnv },
): Deployment {
  if ('error' in loaded) throw loaded.error;
  const { project } = loaded;
  const { config, dist } = project;
  const context = kubeContext(config.cluster, options.namedContext);
  const unchanged = runbook.dryRun ? undefined : unchangedSynth(project.root, options.env);
  return {
    runbook, project, config, context, dist,
    useK3d: options.namedContext === undefined,
    diffOnly: options.diffOnly,
    helmChartInstall: config.nats.install === 'helmchart',
    kubectl: (...args) => kubectlArgs(context, ...args),
    ...(unchanged ? { unchanged } : {}),
  };
}

export const describeDeployment = ({ config }: Deployment): string =>
  `cluster ${config.cluster.name}, NATS chart ${config.nats.chart.name} ${config.nats.chart.version} (nats.install: ${config.nats.install})`;

/**
 * How NATS is installed, for the preflight (whether helm is needed); a configuration that does not
 * load is reported by the Configuration step, with the tools checked as for the default.
 */
export const installMode = (loaded: LoadedProject): Config['nats']['install'] =>
  'project' in loaded ? loaded.project.config.nats.install : 'template';
