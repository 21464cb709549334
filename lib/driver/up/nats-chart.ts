import { existsSync } from 'node:fs';
import { readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { NATS_RENDERED_FILE, NATS_VALUES_FILE } from '../../config/layout';
import { helmTemplateArgs, isRenderCurrent, missingChartObjects, renderedDocument, renderProvenance } from '../../deploy/helm-render';
import { deleteRenderedArgs } from '../../deploy/namespaces';
import { writeFileAtomic } from '../../util/atomic-file';
import { StepFailure } from '../../util/errors';
import { shown } from '../runbook';
import type { Synthesized } from './deployment';

/** The NATS chart step: renders the chart with helm when its inputs changed; with helmchart, removes a former rendering instead. */
export async function natsChart(deployment: Synthesized): Promise<string | undefined> {
  const { runbook: { run, would, rel, dryRun }, config, dist, stack } = deployment;
  const valuesPath = join(dist, NATS_VALUES_FILE);
  const renderedPath = join(dist, NATS_RENDERED_FILE);
  if (deployment.helmChartInstall) {
    const installer = `nats.install is helmchart: k3s's helm controller installs the chart from the HelmChart ${stack.nats.helmChart?.name}`;
    if (!existsSync(renderedPath)) return `not rendered — ${installer}`;
    if (deployment.diffOnly) return `not rendered — ${installer}; ${rel(renderedPath)} (from template) is left as it is`;
    // Helm does not adopt objects it did not create: the helm-install Job would fail on every one
    // that the old rendering applied, so they go first, and the rendering with them.
    await run('kubectl', deployment.kubectl(...deleteRenderedArgs(config.nats.namespace, config.nats.release, config.instance)));
    if (dryRun) {
      would(`delete ${rel(renderedPath)}`);
      return undefined;
    }
    await rm(renderedPath, { force: true });
    return `not rendered — ${installer}; deleted the objects of the former rendering ${rel(renderedPath)} and the file`;
  }
  // By absolute path: helm runs in an empty folder, since a ./nats folder where it runs would be
  // rendered instead of the chart from --repo (helm only warns), and with a home of its own.
  const args = helmTemplateArgs(config.nats, valuesPath);
  const chart = `${config.nats.chart.name} ${config.nats.chart.version}`;
  // The values synth writes (or, in a dry run, would write): a dry run after a configuration change
  // must not call a rendering of the old values current.
  const provenance = renderProvenance(config.nats, config.instance, valuesPath, stack.nats.valuesDocument);
  const current = existsSync(renderedPath) ? await readFile(renderedPath, 'utf8') : undefined;
  if (isRenderCurrent(current, provenance)) return `${rel(renderedPath)} is current (chart ${chart}, same values): not re-rendered`;
  let rendered: string | undefined;
  try {
    rendered = await run('helm', args, { inScratchDir: true });
  } catch (error) {
    if (!(error instanceof StepFailure)) throw error;
    throw new StepFailure(`helm could not render chart ${chart} from ${config.nats.chart.repo}: ${error.message}`, {
      command: error.command, output: error.output,
      hint: error.hint ?? 'check nats.chart (repo, version) in the configuration, and that this machine reaches the repository',
    }, { cause: error });
  }
  if (rendered === undefined) {
    would(`write ${rel(renderedPath)}`);
    return undefined;
  }
  const missing = missingChartObjects(rendered, provenance);
  if (missing.length) {
    throw new StepFailure(`helm's output lacks ${missing.join(', ')}: not written to ${rel(renderedPath)}`, {
      command: shown('helm', args), output: rendered.slice(0, 2000),
      hint: `check that chart ${chart} from ${config.nats.chart.repo} is the NATS chart (nats.chart in the configuration)`,
    });
  }
  writeFileAtomic(renderedPath, renderedDocument(provenance, rendered));
  return `rendered chart ${chart} into ${rel(renderedPath)}`;
}
