import { sleep } from 'zx';
import {
  HELM_JOB_POLL, HELM_JOB_TIMEOUT, helmChartDeleteArgs, helmChartLookupArgs, helmControllerLookArgs, leftHelmChart, NO_HELMCHART_TYPE,
} from '../../deploy/helm-controller';
import { StepFailure } from '../../util/errors';
import { shown } from '../runbook';
import type { Deployment, Synthesized } from './deployment';

/**
 * With template after helmchart: the HelmChart left in the cluster would have k3s install NATS a
 * second time, fighting the rendering over the same objects. Returns the one to delete (see
 * leftHelmChart), if any; a HelmChart that is not ours but installs into our namespace stops up.
 */
export async function helmChartLeftBehind(deployment: Synthesized, clusterCreated: boolean): Promise<string | undefined> {
  const { config, stack, kubectl } = deployment;
  // A cluster created by this run has nothing left behind; with helmchart the HelmChart is the installer.
  if (clusterCreated || deployment.helmChartInstall) return undefined;
  const look = kubectl(...helmChartLookupArgs(config.nats.release));
  const { code, stdout, output } = await deployment.runbook.probeExit('kubectl', look);
  if (code !== 0 && NO_HELMCHART_TYPE.test(output)) return undefined;
  if (code !== 0) throw new StepFailure(`exited with code ${code}`, { command: shown('kubectl', look), output });
  let left;
  try {
    left = leftHelmChart(stdout, config.nats, config.instance, stack.nats.helmValues);
  } catch (error) {
    throw new StepFailure('kubectl printed no HelmChart as JSON', { command: shown('kubectl', look), output: stdout.slice(0, 2000) }, { cause: error });
  }
  if (left.verdict === 'conflict') throw new StepFailure(left.problem, { command: shown('kubectl', look), hint: left.hint });
  return left.verdict === 'delete' ? left.resource : undefined;
}

/** Deletes the HelmChart, waiting (bounded) for k3s's helm controller to uninstall its release. */
export async function removeHelmChart({ runbook, kubectl }: Deployment, resource: string): Promise<void> {
  try {
    await runbook.run('kubectl', kubectl(...helmChartDeleteArgs(resource)));
  } catch (error) {
    if (!(error instanceof StepFailure)) throw error;
    throw new StepFailure(`${resource} is not gone after ${HELM_JOB_TIMEOUT}: k3s's helm controller did not uninstall NATS`, {
      command: error.command, output: error.output,
      hint: `look with: ${shown('kubectl', kubectl(...helmControllerLookArgs()))}\n` +
        'nothing was applied: the rendering would be installed next to the release the HelmChart still holds',
    }, { cause: error });
  }
}

/** The helm controller creates its install Job once it sees the HelmChart: look for it (bounded), then wait for it. */
export async function waitForHelmInstall(
  { runbook, kubectl }: Deployment, { namespace, resource }: { namespace: string; resource: string },
): Promise<void> {
  if (runbook.dryRun) {
    runbook.would(`wait for ${resource} in namespace ${namespace} (k3s's helm controller installs NATS) to exist`);
  } else {
    const look = kubectl('-n', namespace, 'get', resource, '--ignore-not-found', '-o', 'name');
    for (let attempt = 1; (await runbook.probe('kubectl', look)).trim() === ''; attempt += 1) {
      if (attempt >= HELM_JOB_POLL.attempts) {
        throw new StepFailure(`k3s's helm controller did not create ${resource} in namespace ${namespace} within ` +
          `${(HELM_JOB_POLL.attempts * HELM_JOB_POLL.intervalMs) / 1000} s`, {
          command: shown('kubectl', look),
          hint: `is the helm controller running? look with: ${shown('kubectl', kubectl('-n', namespace, 'get', 'helmcharts,jobs,events'))}`,
        });
      }
      await sleep(HELM_JOB_POLL.intervalMs);
    }
  }
  const args = kubectl('-n', namespace, 'wait', '--for=condition=complete', resource, `--timeout=${HELM_JOB_TIMEOUT}`);
  try {
    await runbook.run('kubectl', args);
  } catch (error) {
    if (!(error instanceof StepFailure)) throw error;
    const why = `${resource} in namespace ${namespace} not complete after ${HELM_JOB_TIMEOUT}`;
    throw new StepFailure(`k3s's helm controller did not install NATS (${why})`, {
      command: error.command, output: error.output,
      hint: `look with: ${shown('kubectl', kubectl('-n', namespace, 'logs', resource))}`,
    }, { cause: error });
  }
}
