import { existsSync } from 'node:fs';
import { loadConfig, type Config } from '../config/config';
import { findK3dCluster } from '../deploy/k3d';
import { kubectlArgs, stackNamespaces } from '../deploy/kubectl';
import { deleteOwnedArgs, deleteOwnedHelmChartArgs, deleteOwnedNamespacesArgs, foreignNamespaces, namespaceLookupArgs } from '../deploy/namespaces';
import { downTools } from '../deploy/tool-checks';
import { pkiPaths } from '../pki/paths';
import { removePki } from '../pki/removal';
import type { CommandSpec } from '../util/cli';
import { withProjectLock } from '../util/project-lock';
import { checkContext, preflight } from './checks';
import { deployCommand, shown, type Runbook } from './runbook';

// A flag's second help line starts under the first one's text in --help.
const HELP_INDENT = ' '.repeat(19);

const DOWN_COMMAND: CommandSpec = {
  usage: 'npx zx scripts/down.mjs',
  description: 'Deletes the k3d cluster scripts/up.mjs created. The certificates in the PKI folder are kept, so\n' +
    'clients keep working after the next up.',
  flags: {
    context: {
      type: 'string', value: 'NAME',
      help: 'the deployment went to this kubectl context: delete the applied objects (in reverse order) instead of a k3d cluster',
    },
    purge: {
      type: 'boolean',
      help: 'also delete the certificates and keys (the CA included); with --context also the JetStream volumes (PVCs)\n' + HELP_INDENT +
        'of the NATS release (without --context they go with the k3d cluster)',
    },
    'dry-run': { type: 'boolean', help: 'print every command that would change something instead of running it' },
  },
};

/** The Cluster step: deletes the k3d cluster, if there is one. */
async function deleteCluster({ probe, run, dryRun }: Runbook, config: Config): Promise<string | undefined> {
  const { name } = config.cluster;
  if (!findK3dCluster(await probe('k3d', ['cluster', 'list', '-o', 'json']), name)) return `no k3d cluster ${name}: nothing to do`;
  await run('k3d', ['cluster', 'delete', name]);
  return dryRun ? undefined : `deleted k3d cluster ${name}`;
}

/** The Objects step (--context): this instance's objects, by label, never by name, then the Namespaces it created. */
async function deleteObjects({ probe, run, dryRun }: Runbook, config: Config, context: string): Promise<string | undefined> {
  await checkContext(probe, context);
  const kubectl = (...args: string[]) => kubectlArgs(context, ...args);
  const { instance } = config;
  // Where this instance's objects live, whoever owns the Namespace.
  const used = stackNamespaces(config);
  for (const namespace of used) await run('kubectl', kubectl(...deleteOwnedArgs(namespace, config.nats.install, instance)));
  if (config.nats.install === 'helmchart') await run('kubectl', kubectl(...deleteOwnedHelmChartArgs(instance)));
  const kept = foreignNamespaces(await probe('kubectl', kubectl(...namespaceLookupArgs(used))), instance);
  await run('kubectl', kubectl(...deleteOwnedNamespacesArgs(instance)));
  if (dryRun) return undefined;
  const left = kept.length ? `; kept namespace(s) ${kept.join(', ')}, which instance ${instance} did not create (only its objects were deleted)` : '';
  return `deleted instance ${instance}'s objects and the namespaces it created from context ${context}${left}`;
}

/** The Volumes step (--context --purge): deleting a StatefulSet keeps its PVCs (and so JetStream's data); only those of our release go. */
async function deleteVolumes({ run, dryRun }: Runbook, config: Config, context: string): Promise<string | undefined> {
  const { namespace, release } = config.nats;
  await run('kubectl', kubectlArgs(context, '-n', namespace, 'delete', 'pvc', '-l', `app.kubernetes.io/instance=${release}`, '--ignore-not-found'));
  return dryRun ? undefined : `deleted the PVCs of NATS release ${release} in namespace ${namespace}`;
}

/** The Keys step (--purge): what the PKI wrote, then its folder if nothing else is in it. */
async function deleteKeys({ root, rel, dryRun, would }: Runbook, config: Config, keys: string): Promise<string | undefined> {
  if (!existsSync(keys)) return `${rel(keys)}/ is already gone`;
  if (dryRun) {
    would(`delete the CA, server and client certificates and keys in ${rel(keys)}/, then the folder if nothing else is in it`);
    return undefined;
  }
  const { removed, kept, folderRemoved } = await withProjectLock(root, () => Promise.resolve(removePki(config, root)));
  const next = 'the next up issues a new CA, so hand out the new client certificates';
  return folderRemoved
    ? `deleted ${removed.length} file(s) and ${rel(keys)}/: ${next}`
    : `deleted ${removed.length} file(s) in ${rel(keys)}/ and kept what the PKI did not write: ${kept.map(rel).join(', ')} — ${next}`;
}

/**
 * `npx zx scripts/down.mjs`: undoes up — deletes the k3d cluster, or with --context the objects up
 * applied to that cluster. Safe to run again: what is already gone is skipped.
 */
export const down = (scriptPath: string): Promise<void> => deployCommand(scriptPath, DOWN_COMMAND, async ({ flags, namedContext, runbook }) => {
  const { step, root, rel, log, dryRun } = runbook;
  await step('Preflight', () => preflight(downTools(namedContext === undefined), { cwd: root }));
  const config = await step('Configuration', () => loadConfig(root, process.env), ({ cluster }) => `cluster ${cluster.name}`);
  if (namedContext === undefined) {
    await step('Cluster', () => deleteCluster(runbook, config));
  } else {
    await step('Objects', () => deleteObjects(runbook, config, namedContext));
    if (flags.purge) await step('Volumes', () => deleteVolumes(runbook, config, namedContext));
  }
  const keys = pkiPaths(config, root).dir;
  if (flags.purge) await step('Keys', () => deleteKeys(runbook, config, keys));
  if (dryRun) {
    log('\nDry run: nothing was changed.');
  } else {
    const kept = !flags.purge && existsSync(keys) ? ` Kept ${rel(keys)}/ (add --purge to delete the certificates).` : '';
    log(`\nDone.${kept} Deploy again: ${shown('npx', ['zx', 'scripts/up.mjs', ...(namedContext === undefined ? [] : ['--context', namedContext])])}`);
  }
});
