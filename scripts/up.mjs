#!/usr/bin/env node
// npx zx scripts/up.mjs — from nothing to a verified deployment, and safe to run again: reuses the
// k3d cluster and the certificates, re-renders the NATS chart only when its inputs changed, and
// `kubectl apply` leaves unchanged objects alone.
import { chalk, fs, path } from 'zx';
import { requireLib } from './lib/project.mjs';
import { checkContext, deployScript, preflight, shown, StepFailure } from './lib/runbook.mjs';

/** @type {import('../lib/cli.ts').CommandSpec} */
const COMMAND = {
  usage: 'npx zx scripts/up.mjs',
  description: 'Creates (or reuses) the k3d cluster, issues the certificates, synthesizes dist/, renders the NATS\n' +
    'Helm chart, applies everything with kubectl, waits for the rollouts and runs scripts/verify.mjs.',
  flags: {
    'dry-run': { type: 'boolean', help: 'print every command that would change something instead of running it' },
    'no-verify': { type: 'boolean', help: 'skip the end-to-end check (scripts/verify.mjs)' },
    context: { type: 'string', value: 'NAME', help: 'deploy to this existing kubectl context; k3d and docker are not used' },
  },
};

const { loadConfig, echoUrl } = requireLib('config');
const { ensurePki } = requireLib('pki');
const { withProjectLock } = requireLib('project-lock');
const { writeFileAtomic } = requireLib('atomic-file');
const { NATS_VALUES_FILE, NATS_RENDERED_FILE, projectFolders } = requireLib('layout');
const { synthesize } = requireLib('synth');
const { plannedStack } = requireLib('stack');
const k3d = requireLib('k3d');
const helm = requireLib('helm-render');
const plan = requireLib('deploy-plan');

await deployScript(import.meta.filename, COMMAND, async ({ root: ROOT, flags, namedContext, useK3d, rel, dryRun, step, run, probe, would, log }) => {
  await step('Preflight', () => preflight(plan.upTools(useK3d), { cwd: ROOT }));

  /** Set by the Configuration step, which ends the script when it fails. @type {import('../lib/config.ts').Config} */
  let config = /** @type {any} */ (undefined);
  /** @type {string} */
  let dist = '';
  await step('Configuration', async () => {
    config = loadConfig(ROOT);
    // Both folders are checked here, before anything is created or deployed.
    dist = projectFolders(ROOT, config).dist;
    return `cluster ${config.cluster.name}, NATS chart ${config.nats.chart.name} ${config.nats.chart.version}`;
  });
  const context = plan.kubeContext(config.cluster, namedContext);
  // What the constructs create, by name: what the chart step renders and the rollout waits for.
  const stack = plannedStack(config);
  const kubectl = (...args) => plan.kubectlArgs(context, ...args);

  await step('Cluster', async () => {
    if (!useK3d) {
      await checkContext(probe, context);
      return `using kubectl context ${context} (k3d not used)`;
    }
    const { name } = config.cluster;
    const existing = k3d.findK3dCluster(await probe('k3d', ['cluster', 'list', '-o', 'json']), name);
    // k3d only warns when it cannot write the kubeconfig: without the context every kubectl call would fail.
    const contextWritten = () => checkContext(probe, context, k3d.k3dKubeconfigHint(name));
    if (!existing) {
      await run('k3d', k3d.k3dCreateArgs(config.cluster));
      if (!dryRun) await contextWritten();
      return `created k3d cluster ${name} (${config.cluster.image}, ${k3d.k3dPortMappings(config.cluster).join(' ')})`;
    }
    const drift = k3d.portMappingDrift(config.cluster, existing);
    for (const line of drift) log(chalk.yellow(`  ⚠ ${line}`));
    const stopped = k3d.stoppedNodes(existing);
    if (stopped.length) await run('k3d', k3d.k3dStartArgs(name));
    await contextWritten();
    const started = stopped.length && !dryRun ? ` (started ${stopped.join(', ')})` : '';
    return drift.length
      ? `reusing k3d cluster ${name}${started}, but its port mappings differ from the configuration and k3d cannot change them: run \`npx zx scripts/down.mjs\` and up again to re-create it`
      : `reusing k3d cluster ${name}${started}`;
  });

  await step('Certificates', async () => {
    if (dryRun) {
      would(`issue or reuse the CA, server and client certificates in ${config.pki.dir}/ (as npm run certs)`);
      return undefined;
    }
    const pki = await withProjectLock(ROOT, () => ensurePki(config, { baseDir: ROOT }));
    return `${pki.issued.length} file(s) issued, ${pki.reused.length} reused in ${config.pki.dir}/`;
  });

  await step('Manifests', async () => {
    if (dryRun) {
      would(`synthesize ${rel(dist)}/ (as npm run synth)`);
      return undefined;
    }
    // In this process, as `npm run synth` does it: the same lock, PKI and constructs.
    const { written } = await synthesize(ROOT);
    return `synthesized ${written.length} file(s) into ${rel(dist)}/`;
  });

  await step('NATS chart', async () => {
    const valuesPath = path.join(dist, NATS_VALUES_FILE);
    const renderedPath = path.join(dist, NATS_RENDERED_FILE);
    // By absolute path: helm runs in an empty folder, since a ./nats folder where it runs would be
    // rendered instead of the chart from --repo (helm only warns).
    const args = helm.helmTemplateArgs(config.nats, valuesPath);
    const chart = `${config.nats.chart.name} ${config.nats.chart.version}`;
    // The values synth writes (or, in a dry run, would write): a dry run after a configuration change
    // must not call a rendering of the old values current.
    const provenance = helm.renderProvenance(config.nats, valuesPath, stack.nats.valuesDocument);
    const current = fs.existsSync(renderedPath) ? await fs.readFile(renderedPath, 'utf8') : undefined;
    if (helm.isRenderCurrent(current, provenance)) return `${rel(renderedPath)} is current (chart ${chart}, same values): not re-rendered`;
    const manifests = await run('helm', args, { inScratchDir: true });
    if (dryRun) {
      would(`write ${rel(renderedPath)}`);
      return undefined;
    }
    const missing = helm.missingChartObjects(manifests, provenance);
    if (missing.length) {
      throw new StepFailure(`helm's output lacks ${missing.join(', ')}: not written to ${rel(renderedPath)}`, {
        command: shown('helm', args), output: manifests.slice(0, 2000),
        hint: `check that chart ${chart} from ${config.nats.chart.repo} is the NATS chart (nats.chart in the configuration)`,
      });
    }
    writeFileAtomic(renderedPath, helm.renderedDocument(provenance, manifests));
    return `rendered chart ${chart} into ${rel(renderedPath)}`;
  });

  await step('Apply', async () => {
    const files = plan.applyOrder(fs.existsSync(dist) ? await fs.readdir(dist) : []);
    // A dry run from nothing has no synthesized files to list yet.
    if (dryRun && files.length === 1) would(`run: ${shown('kubectl', kubectl('apply', '-f'))} ${rel(dist)}/…k8s.yaml for each file synth writes, in lexical order`);
    for (const file of files) await run('kubectl', kubectl('apply', '-f', rel(path.join(dist, file))));
    return dryRun ? undefined : `${files.length} file(s) applied to context ${context}`;
  });

  await step('Rollout', async () => {
    for (const { what, resource, namespace, timeout } of plan.rolloutTargets(stack)) {
      const args = kubectl('-n', namespace, 'rollout', 'status', resource, `--timeout=${timeout}`);
      try {
        await run('kubectl', args);
      } catch (error) {
        if (!(error instanceof StepFailure)) throw error;
        throw new StepFailure(`${what} (${resource} in namespace ${namespace}) is not ready after ${timeout}`, {
          command: error.command,
          output: error.output,
          hint: `look with: ${shown('kubectl', kubectl('-n', namespace, 'describe', resource))}\n` +
            `       and: ${shown('kubectl', kubectl('-n', namespace, 'get', 'pods,events'))}`,
        });
      }
    }
    return dryRun ? undefined : plan.rolloutTargets(stack).map(({ resource }) => resource).join(' and ') + ' ready';
  });

  if (!flags['no-verify']) {
    await step('Verify', async () => {
      const args = ['scripts/verify.mjs', ...plan.verifyArgs(config, config.pki.dir)];
      await run(process.execPath, args, { display: shown('node', args) });
      return dryRun ? undefined : 'echo answers and NATS admits exactly the authorized identities';
    });
  }

  if (dryRun) {
    log(`\nDry run: nothing was changed. Run without --dry-run to deploy to context ${context}.`);
    return;
  }
  log(`
${chalk.bold('Deployed')} to kubectl context ${context}.
  http-echo:  curl ${echoUrl(config.cluster)}    # answers "${config.echo.text}"
  NATS (with the nats CLI${process.cwd() === ROOT ? '' : `, from ${ROOT}`}):`);
  for (const { identity, authorized, command } of plan.natsClientCommands(config, ROOT)) {
    log(`    ${command}    # ${identity}: ${authorized ? 'works' : 'refused (Authorization Violation)'}`);
  }
  log(`  Tear down:  ${shown('npx', ['zx', 'scripts/down.mjs', ...(useK3d ? [] : ['--context', context])])}`);
});
