#!/usr/bin/env node
// npx zx scripts/up.mjs — from nothing to a verified deployment, and safe to run again: reuses the
// k3d cluster and the certificates, re-renders the NATS chart only when its inputs changed, and
// `kubectl apply` leaves unchanged objects alone and prunes ours that left dist/.
import { chalk, fs, path, sleep } from 'zx';
import { requireLib } from './lib/project.mjs';
import { checkContext, deployScript, preflight, shown, StepFailure } from './lib/runbook.mjs';

// A flag's second help line starts under the first one's text in --help.
const HELP_INDENT = ' '.repeat(19);

/** @type {import('../lib/util/cli.ts').CommandSpec} */
const COMMAND = {
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

const { loadConfig, echoUrl } = requireLib('config/config');
const { ensurePki } = requireLib('pki/pki');
const { withProjectLock } = requireLib('util/project-lock');
const { writeFileAtomic } = requireLib('util/atomic-file');
const { NATS_VALUES_FILE, NATS_RENDERED_FILE, projectFolders } = requireLib('config/layout');
const { synthesize } = requireLib('synth/synth');
const { plannedStack } = requireLib('synth/stack');
const k3d = requireLib('deploy/k3d');
const helm = requireLib('deploy/helm-render');
const plan = requireLib('deploy/plan');
const prune = requireLib('deploy/prune');
const namespaces = requireLib('deploy/namespaces');
const { lookupArgs, foreignObjects } = requireLib('deploy/foreign-objects');
const { ownerSelector } = requireLib('synth/ownership');
const { ReportedError } = requireLib('util/errors');

await deployScript(import.meta.filename, COMMAND, async (runbook) => {
  const { root: ROOT, flags, namedContext, useK3d, rel, dryRun, step, run, probe, probeExit, would, log } = runbook;
  const diffOnly = flags.diff === true;
  // Whether helm is needed depends on how NATS is installed; a configuration that does not load is
  // reported by the next step, with the tools checked as for the default.
  const installs = () => {
    try {
      return loadConfig(ROOT).nats.install;
    } catch {
      return 'template';
    }
  };
  await step('Preflight', () => preflight(plan.upTools(useK3d, installs()), { cwd: ROOT }));

  /** Set by the Configuration step, which ends the script when it fails. @type {import('../lib/config/config.ts').Config} */
  let config = /** @type {any} */ (undefined);
  /** @type {string} */
  let dist = '';
  await step('Configuration', () => {
    config = loadConfig(ROOT);
    // Both folders are checked here, before anything is created or deployed.
    dist = projectFolders(ROOT, config).dist;
    return `cluster ${config.cluster.name}, NATS chart ${config.nats.chart.name} ${config.nats.chart.version} (nats.install: ${config.nats.install})`;
  });
  const helmChartInstall = config.nats.install === 'helmchart';
  const context = plan.kubeContext(config.cluster, namedContext);
  // What the constructs create, by name: what the chart step renders and the rollout waits for.
  const stack = plannedStack(config);
  const kubectl = (...args) => plan.kubectlArgs(context, ...args);
  /** A cluster this run creates holds nothing of an earlier deployment. */
  let clusterCreated = false;

  await step('Cluster', async () => {
    if (!useK3d) {
      await checkContext(probe, context);
      await checkHelmController();
      return `using kubectl context ${context} (k3d not used)`;
    }
    const { name } = config.cluster;
    const existing = k3d.findK3dCluster(await probe('k3d', ['cluster', 'list', '-o', 'json']), name);
    // k3d only warns when it cannot write the kubeconfig: without the context every kubectl call would fail.
    const contextWritten = () => checkContext(probe, context, k3d.k3dKubeconfigHint(name));
    // A diff compares with what runs: creating or starting a cluster to compare with would change something.
    if (diffOnly) {
      if (!existing) throw new StepFailure(`no k3d cluster ${name}: there is nothing to compare with`, { hint: 'run up without --diff first' });
      if (k3d.stoppedNodes(existing).length) {
        throw new StepFailure(`k3d cluster ${name} is stopped: there is nothing to compare with`, {
          hint: `start it: ${shown('k3d', k3d.k3dStartArgs(name))}`,
        });
      }
    }
    if (!existing) {
      await run('k3d', k3d.k3dCreateArgs(config.cluster));
      clusterCreated = true;
      if (!dryRun) await contextWritten();
      const agents = config.cluster.agents ? `, ${config.cluster.agents} agent(s)` : '';
      return `created k3d cluster ${name} (${config.cluster.image}${agents}, ${k3d.k3dPortMappings(config.cluster).join(' ')})`;
    }
    const drift = [...k3d.portMappingDrift(config.cluster, existing), ...k3d.agentDrift(config.cluster, existing)];
    for (const line of drift) log(chalk.yellow(`  ⚠ ${line}`));
    const stopped = k3d.stoppedNodes(existing);
    if (stopped.length) await run('k3d', k3d.k3dStartArgs(name));
    await contextWritten();
    const started = stopped.length && !dryRun ? ` (started ${stopped.join(', ')})` : '';
    return drift.length
      ? `reusing k3d cluster ${name}${started}, but its port mappings or agents differ from the configuration and up does not change them: ` +
        'run `npx zx scripts/down.mjs` and up again to re-create it'
      : `reusing k3d cluster ${name}${started}`;
  });

  /** With helmchart on a cluster we did not create: only k3s (and RKE2) run the helm controller. */
  async function checkHelmController() {
    if (!helmChartInstall) return;
    const args = kubectl('get', plan.HELMCHART_CRD, '-o', 'name');
    const { code, output } = await probeExit('kubectl', args);
    if (code === 0) return;
    if (/NotFound|not found/.test(output)) {
      const command = shown('kubectl', args);
      throw new StepFailure("nats.install: helmchart needs k3s's helm controller: use template for this context", { command });
    }
    throw new StepFailure(`exited with code ${code}`, { command: shown('kubectl', args), output });
  }

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
    if (helmChartInstall) {
      const installer = `nats.install is helmchart: k3s's helm controller installs the chart from the HelmChart ${stack.nats.helmChart?.name}`;
      if (!fs.existsSync(renderedPath)) return `not rendered — ${installer}`;
      if (diffOnly) return `not rendered — ${installer}; ${rel(renderedPath)} (from template) is left as it is`;
      // Helm does not adopt objects it did not create: the helm-install Job would fail on every one
      // that the old rendering applied, so they go first, and the rendering with them.
      await run('kubectl', kubectl(...namespaces.deleteRenderedArgs(config.nats.namespace, config.nats.release, config.instance)));
      if (dryRun) {
        would(`delete ${rel(renderedPath)}`);
        return undefined;
      }
      await fs.remove(renderedPath);
      return `not rendered — ${installer}; deleted the objects of the former rendering ${rel(renderedPath)} and the file`;
    }
    // By absolute path: helm runs in an empty folder, since a ./nats folder where it runs would be
    // rendered instead of the chart from --repo (helm only warns), and with a home of its own.
    const args = helm.helmTemplateArgs(config.nats, valuesPath);
    const chart = `${config.nats.chart.name} ${config.nats.chart.version}`;
    // The values synth writes (or, in a dry run, would write): a dry run after a configuration change
    // must not call a rendering of the old values current.
    const provenance = helm.renderProvenance(config.nats, config.instance, valuesPath, stack.nats.valuesDocument);
    const current = fs.existsSync(renderedPath) ? await fs.readFile(renderedPath, 'utf8') : undefined;
    if (helm.isRenderCurrent(current, provenance)) return `${rel(renderedPath)} is current (chart ${chart}, same values): not re-rendered`;
    let manifests;
    try {
      manifests = await run('helm', args, { inScratchDir: true });
    } catch (error) {
      if (!(error instanceof StepFailure)) throw error;
      throw new StepFailure(`helm could not render chart ${chart} from ${config.nats.chart.repo}: ${error.message}`, {
        command: error.command, output: error.output,
        hint: error.hint ?? 'check nats.chart (repo, version) in the configuration, and that this machine reaches the repository',
      });
    }
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

  /**
   * With template after helmchart: the HelmChart left in the cluster would have k3s install NATS a
   * second time, fighting the rendering over the same objects. Returns the one to delete (see
   * plan.leftHelmChart), if any; a HelmChart that is not ours but installs into our namespace stops up.
   */
  async function leftHelmChart() {
    // A cluster created by this run has nothing left behind; with helmchart the HelmChart is the installer.
    if (clusterCreated || helmChartInstall) return undefined;
    const look = kubectl(...plan.helmChartLookupArgs(config.nats.release));
    const { code, stdout, output } = await probeExit('kubectl', look);
    if (code !== 0 && plan.NO_HELMCHART_TYPE.test(output)) return undefined;
    if (code !== 0) throw new StepFailure(`exited with code ${code}`, { command: shown('kubectl', look), output });
    let left;
    try {
      left = plan.leftHelmChart(stdout, config.nats, config.instance, stack.nats.helmValues);
    } catch {
      throw new StepFailure('kubectl printed no HelmChart as JSON', { command: shown('kubectl', look), output: stdout.slice(0, 2000) });
    }
    if (left.verdict === 'conflict') throw new StepFailure(left.problem, { command: shown('kubectl', look), hint: left.hint });
    return left.verdict === 'delete' ? left.resource : undefined;
  }

  /** Deletes the HelmChart, waiting (bounded) for k3s's helm controller to uninstall its release. */
  async function removeHelmChart(resource) {
    const args = kubectl(...plan.helmChartDeleteArgs(resource));
    try {
      await run('kubectl', args);
    } catch (error) {
      if (!(error instanceof StepFailure)) throw error;
      throw new StepFailure(`${resource} is not gone after ${plan.HELM_JOB_TIMEOUT}: k3s's helm controller did not uninstall NATS`, {
        command: error.command, output: error.output,
        hint: `look with: ${shown('kubectl', kubectl(...plan.helmControllerLookArgs()))}\n` +
          'nothing was applied: the rendering would be installed next to the release the HelmChart still holds',
      });
    }
  }

  const upAgain = shown('npx', ['zx', 'scripts/up.mjs', ...(useK3d ? [] : ['--context', context])]);
  /** The manifests in apply order, as kubectl is given them (relative to the project). */
  const manifests = async () => plan.applyOrder(fs.existsSync(dist) ? await fs.readdir(dist) : [], config.nats.install)
    .map((file) => rel(path.join(dist, file)));
  /** The Namespaces file is created, never applied (lib/deploy/namespaces.ts); the rest is applied. */
  const split = (files) => ({
    namespacesFile: files.find((file) => path.basename(file) === namespaces.NAMESPACES_MANIFEST),
    objectFiles: files.filter((file) => path.basename(file) !== namespaces.NAMESPACES_MANIFEST),
  });
  /** kubectl apply (or diff) of all manifests at once, pruning ours that are no longer among them. */
  const pruning = (verb, files) => kubectl(...prune.pruningArgs(verb, files, config.nats.install, config.instance));

  /**
   * `-l` skips an object without our labels without a word, and would prune the one it replaces. Not
   * in a dry run: synth and helm did not run, so the files may still be an older version's.
   */
  async function checkOwnerLabels(files) {
    if (dryRun) return;
    for (const file of files) {
      if (!fs.existsSync(path.join(ROOT, file))) continue;
      const unlabelled = prune.unlabelledObjects(await fs.readFile(path.join(ROOT, file), 'utf8'), config.instance);
      if (unlabelled.length) {
        const labels = ownerSelector(config.instance);
        throw new StepFailure(`${file}: ${unlabelled.join(', ')} without the labels ${labels}, which kubectl apply -l would skip`, {
          hint: 'write dist/ afresh with `npm run synth` (a manifest edited by hand needs the labels on every object)',
        });
      }
    }
  }

  /**
   * Every object about to be written that exists already must be this instance's: apply would take
   * over another instance's or anyone's object of the same name, and a later prune delete it.
   */
  async function checkForeignObjects(objectFiles) {
    // Not in a dry run, for the reason checkOwnerLabels gives.
    if (dryRun) return;
    const present = objectFiles.filter((file) => fs.existsSync(path.join(ROOT, file)));
    if (present.length === 0) return;
    const args = kubectl(...lookupArgs(present));
    const { code, stdout, output } = await probeExit('kubectl', args);
    if (code !== 0) throw new StepFailure(`exited with code ${code}`, { command: shown('kubectl', args), output });
    const foreign = foreignObjects(stdout, config.instance);
    if (foreign.length === 0) return;
    const [first] = foreign;
    throw new StepFailure(`${foreign.map(({ object, owner }) => `${object} (${owner})`).join(', ')} already exist(s) and ` +
      `${foreign.length === 1 ? 'is' : 'are'} not instance ${config.instance}'s: applying would take ${foreign.length === 1 ? 'it' : 'them'} over`, {
      command: shown('kubectl', args),
      hint: 'give this instance names of its own (echo.name, echo.namespace, nats.release, nats.namespace in the configuration), ' +
        `or, if ${foreign.length === 1 ? 'it is' : 'they are'} left over, delete ${foreign.length === 1 ? 'it' : 'them'}: ` +
        shown('kubectl', kubectl(...(first.namespace ? ['-n', first.namespace] : []), 'delete', first.resource)),
    });
  }

  /** Creates the Namespaces that do not exist yet, with our labels; one that exists keeps its owner. */
  async function createNamespaces(namespacesFile) {
    if (!namespacesFile) return [];
    const args = kubectl(...namespaces.createNamespacesArgs(namespacesFile));
    if (dryRun) {
      would(`run: ${shown('kubectl', args)} (the Namespaces that do not exist yet; one that exists is left as it is)`);
      return [];
    }
    const { code, stdout, stderr, output } = await probeExit('kubectl', args);
    // Both streams: kubectl says what it created on stdout and what existed on stderr.
    const outcome = namespaces.namespacesCreated(code, `${stdout}\n${stderr}`);
    if (outcome.problem) throw new StepFailure(`exited with code ${code}`, { command: shown('kubectl', args), output });
    return outcome.created;
  }

  if (diffOnly) {
    let differs = false;
    await step('Diff', async () => {
      const { namespacesFile, objectFiles: files } = split(await manifests());
      await checkOwnerLabels(files);
      const helmChart = await leftHelmChart();
      // The release our HelmChart installed goes with it (up deletes it first): its objects are not in the way.
      await checkForeignObjects(helmChart ? files.filter((file) => !file.endsWith(NATS_RENDERED_FILE)) : files);
      const missingNamespaces = await missingNamespacesOf(namespacesFile);
      if (helmChart) log(`up would first delete ${helmChart} (k3s's helm controller would uninstall NATS)`);
      // The apply's own arguments, so what would be pruned shows too.
      const args = pruning('diff', files);
      const { code, stdout, stderr, output } = await probeExit('kubectl', args);
      const outcome = prune.diffOutcome(code, stdout, stderr);
      if (outcome.verdict === 'failed') {
        throw new StepFailure(outcome.problem, { command: shown('kubectl', args), output, hint: plan.kubectlDiffToolHint(output) });
      }
      if (outcome.verdict === 'same' && !helmChart && missingNamespaces.length === 0) return `nothing would change in context ${context}`;
      differs = true;
      if (outcome.verdict === 'differs') log(stdout.trimEnd());
      const changed = [
        ...missingNamespaces.map((name) => `namespace/${name} (created)`), ...(helmChart ? [`${helmChart} (deleted)`] : []),
        ...(outcome.verdict === 'differs' ? outcome.objects : []),
      ];
      return `${changed.length} object(s) would change or be pruned: ${changed.join(', ')}`;
    });
    if (!differs) return;
    log(`\nNothing was applied. Apply the changes: ${upAgain}`);
    throw new ReportedError('differences');
  }

  /** The configuration's Namespaces that up would create. */
  async function missingNamespacesOf(namespacesFile) {
    if (!namespacesFile || !fs.existsSync(path.join(ROOT, namespacesFile))) return [];
    const wanted = namespaces.namespaceNames(await fs.readFile(path.join(ROOT, namespacesFile), 'utf8'));
    const args = kubectl(...namespaces.namespaceLookupArgs(wanted));
    const existing = namespaces.namespaceNames(await probe('kubectl', args));
    return wanted.filter((name) => !existing.includes(name));
  }

  await step('Apply', async () => {
    const { namespacesFile, objectFiles: files } = split(await manifests());
    await checkOwnerLabels([...(namespacesFile ? [namespacesFile] : []), ...files]);
    // Last before the apply: should rendering have failed, the HelmChart would still be installing NATS.
    const helmChart = await leftHelmChart();
    if (helmChart) await removeHelmChart(helmChart);
    // After the HelmChart is gone: the release it installed (none of it ours by label) went with it.
    await checkForeignObjects(files);
    // A dry run from nothing has no synthesized files to list yet.
    if (dryRun && files.length <= 1) {
      would(`run: ${shown('kubectl', pruning('apply', []))} -f ${rel(dist)}/<file> for each file synth writes, in lexical order` +
        (helmChartInstall ? '' : `, then -f ${files.join(' ')}`));
      return undefined;
    }
    const created = await createNamespaces(namespacesFile);
    const output = await run('kubectl', pruning('apply', files)).catch((error) => {
      const hint = error instanceof StepFailure ? plan.immutableStatefulSetHint(error.output ?? '', stack.nats) : undefined;
      throw hint ? new StepFailure(error.message, { command: error.command, output: error.output, hint }) : error;
    });
    if (dryRun) return undefined;
    const pruned = prune.prunedObjects(output ?? '');
    const switched = helmChart ? `deleted ${helmChart} (k3s's helm controller uninstalled NATS); ` : '';
    const made = created.length ? `created namespace(s) ${created.join(', ')}; ` : '';
    return `${switched}${made}${files.length} file(s) applied to context ${context}; ${pruned.length ? `pruned ${pruned.join(', ')}` : 'nothing to prune'}`;
  });

  await step('Rollout', async () => {
    const job = stack.nats.helmInstallJob;
    if (job) await waitForHelmInstall(job);
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

  /** The helm controller creates its install Job once it sees the HelmChart: look for it (bounded), then wait for it. */
  async function waitForHelmInstall({ namespace, resource }) {
    if (dryRun) {
      would(`wait for ${resource} in namespace ${namespace} (k3s's helm controller installs NATS) to exist`);
    } else {
      const look = kubectl('-n', namespace, 'get', resource, '--ignore-not-found', '-o', 'name');
      let found = false;
      for (let attempt = 1; !found; attempt += 1) {
        found = (await probe('kubectl', look)).trim() !== '';
        if (found) break;
        if (attempt >= plan.HELM_JOB_POLL.attempts) {
          throw new StepFailure(`k3s's helm controller did not create ${resource} in namespace ${namespace} within ` +
            `${(plan.HELM_JOB_POLL.attempts * plan.HELM_JOB_POLL.intervalMs) / 1000} s`, {
            command: shown('kubectl', look),
            hint: `is the helm controller running? look with: ${shown('kubectl', kubectl('-n', namespace, 'get', 'helmcharts,jobs,events'))}`,
          });
        }
        await sleep(plan.HELM_JOB_POLL.intervalMs);
      }
    }
    const args = kubectl('-n', namespace, 'wait', '--for=condition=complete', resource, `--timeout=${plan.HELM_JOB_TIMEOUT}`);
    try {
      await run('kubectl', args);
    } catch (error) {
      if (!(error instanceof StepFailure)) throw error;
      const why = `${resource} in namespace ${namespace} not complete after ${plan.HELM_JOB_TIMEOUT}`;
      throw new StepFailure(`k3s's helm controller did not install NATS (${why})`, {
        command: error.command, output: error.output,
        hint: `look with: ${shown('kubectl', kubectl('-n', namespace, 'logs', resource))}`,
      });
    }
  }

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
  const servers = stack.nats.replicas;
  log(`
${chalk.bold('Deployed')} to kubectl context ${context}.
  NATS:       ${servers} server(s)${servers > 1 ? ' in a cluster' : ''}, JetStream ${config.nats.jetstream.enabled ? 'on' : 'off'}
  http-echo:  curl ${echoUrl(config.cluster)}    # answers "${config.echo.text}"
              ${plan.echoHttpsCommand(config, ROOT)}    # the same over HTTPS, certificate from our CA
  NATS (with the nats CLI${process.cwd() === ROOT ? '' : `, from ${ROOT}`}):`);
  for (const { command, note } of plan.natsClientCommands(config, ROOT)) log(`    ${command}    # ${note}`);
  log(`    npm run contexts    # one nats CLI context per authorized identity: nats --context ${config.cluster.name}-<identity> pub say hi`);
  log(`  Tear down:  ${shown('npx', ['zx', 'scripts/down.mjs', ...(useK3d ? [] : ['--context', context])])}`);
});
