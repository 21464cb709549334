import { upTools } from '../deploy/tool-checks';
import type { CommandSpec } from '../util/cli';
import { ReportedError } from '../util/errors';
import { preflight } from './checks';
import { deployCommand } from './runbook';
import { apply, diff } from './up/apply';
import { useCluster } from './up/cluster';
import { describeDeployment, installMode, loadDeployment, tryLoadProject } from './up/deployment';
import { certificates, manifests } from './up/files';
import { natsChart } from './up/nats-chart';
import { rollout } from './up/rollout';
import { printSummary, upAgain } from './up/summary';
import { verifyDeployment } from './up/verify';

// A flag's second help line starts under the first one's text in --help.
const HELP_INDENT = ' '.repeat(19);

const UP_COMMAND: CommandSpec = {
  usage: 'npx zx scripts/up.mjs',
  description: 'Creates (or reuses) the k3d cluster, issues the certificates, synthesizes dist/, renders the NATS\n' +
    'Helm chart, applies everything with kubectl (pruning our objects that left dist/), waits for the rollouts\n' +
    'and runs scripts/verify.mjs.',
  flags: {
    'dry-run': { type: 'boolean', help: 'print every command that would change something instead of running it' },
    'no-verify': { type: 'boolean', help: 'skip the end-to-end check (scripts/verify.mjs)' },
    context: { type: 'string', value: 'NAME', help: 'deploy to this existing kubectl context; k3d and docker are not used' },
    diff: {
      type: 'boolean',
      help: 'synthesize (and render) as up does, then show `kubectl diff` of each manifest against the cluster and apply nothing;\n' + HELP_INDENT +
        'exit 0 when nothing would change, 1 when something would (the cluster must exist: it is not created)',
    },
  },
};

/**
 * `npx zx scripts/up.mjs`: from nothing to a verified deployment, and safe to run again: reuses the
 * k3d cluster and the certificates, re-renders the NATS chart only when its inputs changed, and
 * `kubectl apply` leaves unchanged objects alone and prunes ours that left dist/.
 */
export const up = (scriptPath: string): Promise<void> => deployCommand(scriptPath, UP_COMMAND, async ({ flags, namedContext, useK3d, runbook }) => {
  const { step, root, log } = runbook;
  const project = tryLoadProject(root, process.env);
  await step('Preflight', () => preflight(upTools(useK3d, installMode(project)), { cwd: root }));
  const planned = await step('Configuration', () => loadDeployment(runbook, project, { namedContext, diffOnly: flags.diff === true, env: process.env }), describeDeployment);
  const cluster = await step('Cluster', () => useCluster(planned), ({ detail }) => detail);
  await step('Certificates', () => certificates(planned));
  const { synthesized: deployment } = await step('Manifests', () => manifests(planned), ({ detail }) => detail);
  await step('NATS chart', () => natsChart(deployment));
  if (deployment.diffOnly) {
    const { differs } = await step('Diff', () => diff(deployment, cluster.created), ({ detail }) => detail);
    if (!differs) return;
    log(`\nNothing was applied. Apply the changes: ${upAgain(deployment, 'up')}`);
    throw new ReportedError('differences');
  }
  await step('Apply', () => apply(deployment, cluster.created));
  await step('Rollout', () => rollout(deployment));
  if (!flags['no-verify']) await step('Verify', () => verifyDeployment(deployment));
  printSummary(deployment);
});
