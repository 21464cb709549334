import { NATS_RENDERED_FILE } from '../../config/layout';
import { diffOutcome, prunedObjects, pruningArgs } from '../../deploy/prune';
import { immutableStatefulSetHint, kubectlDiffToolHint } from '../../deploy/user-messages';
import { StepFailure } from '../../util/errors';
import { shown } from '../runbook';
import type { Deployment, Synthesized } from './deployment';
import { helmChartLeftBehind, removeHelmChart } from './helm-chart';
import { checkForeignObjects, checkOwnerLabels, createNamespaces, manifestFiles, missingNamespaces } from './objects';

/** kubectl apply (or diff) of all manifests at once, pruning ours that are no longer among them. */
const pruning = ({ kubectl, config }: Deployment, verb: 'apply' | 'diff', files: readonly string[]): string[] =>
  kubectl(...pruningArgs(verb, files, config.nats.install, config.instance));

/** The Apply step: the checks, a HelmChart left behind removed, the Namespaces created, then one apply that prunes. */
export async function apply(deployment: Synthesized, clusterCreated: boolean): Promise<string | undefined> {
  const { runbook: { run, would, rel, dryRun }, dist, stack, context } = deployment;
  const { namespacesFile, objectFiles: files } = await manifestFiles(deployment);
  await checkOwnerLabels(deployment, [...(namespacesFile ? [namespacesFile] : []), ...files]);
  // Last before the apply: should rendering have failed, the HelmChart would still be installing NATS.
  const helmChart = await helmChartLeftBehind(deployment, clusterCreated);
  if (helmChart) await removeHelmChart(deployment, helmChart);
  // After the HelmChart is gone: the release it installed (none of it ours by label) went with it.
  await checkForeignObjects(deployment, files);
  // A dry run from nothing has no synthesized files to list yet.
  if (dryRun && files.length <= 1) {
    would(`run: ${shown('kubectl', pruning(deployment, 'apply', []))} -f ${rel(dist)}/<file> for each file synth writes, in lexical order` +
      (deployment.helmChartInstall ? '' : `, then -f ${files.join(' ')}`));
    return undefined;
  }
  const created = await createNamespaces(deployment, namespacesFile);
  const output = await run('kubectl', pruning(deployment, 'apply', files)).catch((error: unknown) => {
    const hint = error instanceof StepFailure ? immutableStatefulSetHint(error.output ?? '', stack.nats) : undefined;
    if (!hint || !(error instanceof StepFailure)) throw error;
    throw new StepFailure(error.message, { command: error.command, output: error.output, hint }, { cause: error });
  });
  if (dryRun) return undefined;
  const pruned = prunedObjects(output ?? '');
  const switched = helmChart ? `deleted ${helmChart} (k3s's helm controller uninstalled NATS); ` : '';
  const made = created.length ? `created namespace(s) ${created.join(', ')}; ` : '';
  return `${switched}${made}${files.length} file(s) applied to context ${context}; ${pruned.length ? `pruned ${pruned.join(', ')}` : 'nothing to prune'}`;
}

export interface DiffResult {
  readonly differs: boolean;
  readonly detail: string;
}

/** The Diff step (--diff): what the Apply step would change or prune, shown and nothing applied. */
export async function diff(deployment: Synthesized, clusterCreated: boolean): Promise<DiffResult> {
  const { runbook: { log, probeExit }, context } = deployment;
  const { namespacesFile, objectFiles: files } = await manifestFiles(deployment);
  await checkOwnerLabels(deployment, files);
  const helmChart = await helmChartLeftBehind(deployment, clusterCreated);
  // The release our HelmChart installed goes with it (up deletes it first): its objects are not in the way.
  await checkForeignObjects(deployment, helmChart ? files.filter((file) => !file.endsWith(NATS_RENDERED_FILE)) : files);
  const missing = await missingNamespaces(deployment, namespacesFile);
  if (helmChart) log(`up would first delete ${helmChart} (k3s's helm controller would uninstall NATS)`);
  // The apply's own arguments, so what would be pruned shows too.
  const args = pruning(deployment, 'diff', files);
  const { code, stdout, stderr, output } = await probeExit('kubectl', args);
  const outcome = diffOutcome(code, stdout, stderr);
  if (outcome.verdict === 'failed') {
    throw new StepFailure(outcome.problem, { command: shown('kubectl', args), output, hint: kubectlDiffToolHint(output) });
  }
  if (outcome.verdict === 'same' && !helmChart && missing.length === 0) return { differs: false, detail: `nothing would change in context ${context}` };
  if (outcome.verdict === 'differs') log(stdout.trimEnd());
  const changed = [
    ...missing.map((name) => `namespace/${name} (created)`), ...(helmChart ? [`${helmChart} (deleted)`] : []),
    ...(outcome.verdict === 'differs' ? outcome.objects : []),
  ];
  return { differs: true, detail: `${changed.length} object(s) would change or be pruned: ${changed.join(', ')}` };
}
