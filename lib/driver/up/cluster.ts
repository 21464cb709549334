import { chalk } from 'zx';
import { HELMCHART_CRD } from '../../deploy/helm-controller';
import {
  agentDrift, findK3dCluster, k3dCreateArgs, k3dKubeconfigHint, k3dPortMappings, k3dStartArgs, portMappingDrift, stoppedNodes,
} from '../../deploy/k3d';
import { StepFailure } from '../../util/errors';
import { checkContext } from '../checks';
import { shown } from '../runbook';
import type { Deployment } from './deployment';

export interface ClusterOutcome {
  /** A cluster this run creates holds nothing of an earlier deployment. */
  readonly created: boolean;
  readonly detail: string;
}

/** The Cluster step: the context named with --context, else the k3d cluster, created, started or reused as it is. */
export async function useCluster(deployment: Deployment): Promise<ClusterOutcome> {
  const { runbook: { probe, run, log, dryRun }, config, context } = deployment;
  if (!deployment.useK3d) {
    await checkContext(probe, context);
    await checkHelmController(deployment);
    return { created: false, detail: `using kubectl context ${context} (k3d not used)` };
  }
  const { name } = config.cluster;
  const existing = findK3dCluster(await probe('k3d', ['cluster', 'list', '-o', 'json']), name);
  // k3d only warns when it cannot write the kubeconfig: without the context every kubectl call would fail.
  const contextWritten = () => checkContext(probe, context, k3dKubeconfigHint(name));
  // A diff compares with what runs: creating or starting a cluster to compare with would change something.
  if (deployment.diffOnly) {
    if (!existing) throw new StepFailure(`no k3d cluster ${name}: there is nothing to compare with`, { hint: 'run up without --diff first' });
    if (stoppedNodes(existing).length) {
      throw new StepFailure(`k3d cluster ${name} is stopped: there is nothing to compare with`, { hint: `start it: ${shown('k3d', k3dStartArgs(name))}` });
    }
  }
  if (!existing) {
    await run('k3d', k3dCreateArgs(config.cluster));
    if (!dryRun) await contextWritten();
    const agents = config.cluster.agents ? `, ${config.cluster.agents} agent(s)` : '';
    return { created: true, detail: `created k3d cluster ${name} (${config.cluster.image}${agents}, ${k3dPortMappings(config.cluster).join(' ')})` };
  }
  const drift = [...portMappingDrift(config.cluster, existing), ...agentDrift(config.cluster, existing)];
  for (const line of drift) log(chalk.yellow(`  ⚠ ${line}`));
  const stopped = stoppedNodes(existing);
  if (stopped.length) await run('k3d', k3dStartArgs(name));
  await contextWritten();
  const started = stopped.length && !dryRun ? ` (started ${stopped.join(', ')})` : '';
  return {
    created: false,
    detail: drift.length
      ? `reusing k3d cluster ${name}${started}, but its port mappings or agents differ from the configuration and up does not change them: ` +
        'run `npx zx scripts/down.mjs` and up again to re-create it'
      : `reusing k3d cluster ${name}${started}`,
  };
}

/** With helmchart on a cluster we did not create: only k3s (and RKE2) run the helm controller. */
async function checkHelmController({ helmChartInstall, kubectl, runbook }: Deployment): Promise<void> {
  if (!helmChartInstall) return;
  const args = kubectl('get', HELMCHART_CRD, '-o', 'name');
  const { code, output } = await runbook.probeExit('kubectl', args);
  if (code === 0) return;
  if (/NotFound|not found/.test(output)) {
    throw new StepFailure("nats.install: helmchart needs k3s's helm controller: use template for this context", { command: shown('kubectl', args) });
  }
  throw new StepFailure(`exited with code ${code}`, { command: shown('kubectl', args), output });
}
