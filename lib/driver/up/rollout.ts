import { rolloutTargets } from '../../deploy/kubectl';
import { StepFailure } from '../../util/errors';
import { shown } from '../runbook';
import type { Synthesized } from './deployment';
import { waitForHelmInstall } from './helm-chart';

/** The Rollout step: the helm controller's install Job (helmchart), then each workload, bounded. */
export async function rollout(deployment: Synthesized): Promise<string | undefined> {
  const { runbook: { run, dryRun }, stack, kubectl } = deployment;
  const job = stack.nats.helmInstallJob;
  if (job) await waitForHelmInstall(deployment, job);
  for (const { what, resource, namespace, timeout } of rolloutTargets(stack)) {
    try {
      await run('kubectl', kubectl('-n', namespace, 'rollout', 'status', resource, `--timeout=${timeout}`));
    } catch (error) {
      if (!(error instanceof StepFailure)) throw error;
      throw new StepFailure(`${what} (${resource} in namespace ${namespace}) is not ready after ${timeout}`, {
        command: error.command,
        output: error.output,
        hint: `look with: ${shown('kubectl', kubectl('-n', namespace, 'describe', resource))}\n` +
          `       and: ${shown('kubectl', kubectl('-n', namespace, 'get', 'pods,events'))}`,
      }, { cause: error });
    }
  }
  return dryRun ? undefined : rolloutTargets(stack).map(({ resource }) => resource).join(' and ') + ' ready';
}
