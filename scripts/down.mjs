#!/usr/bin/env node
// npx zx scripts/down.mjs — undoes scripts/up.mjs: deletes the k3d cluster, or with --context the
// objects up applied to that cluster. Safe to run again: what is already gone is skipped.
import { fs } from 'zx';
import { requireLib } from './lib/project.mjs';
import { checkContext, deployScript, preflight, shown } from './lib/runbook.mjs';

// A flag's second help line starts under the first one's text in --help.
const HELP_INDENT = ' '.repeat(19);

/** @type {import('../lib/util/cli.ts').CommandSpec} */
const COMMAND = {
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

const { loadConfig } = requireLib('config/config');
const { pkiPaths } = requireLib('pki/paths');
const { removePki } = requireLib('pki/removal');
const { withProjectLock } = requireLib('util/project-lock');
const k3d = requireLib('deploy/k3d');
const plan = requireLib('deploy/plan');
const namespaces = requireLib('deploy/namespaces');

await deployScript(import.meta.filename, COMMAND, async ({ root: ROOT, flags, namedContext, useK3d, rel, dryRun, step, run, probe, would, log }) => {
  await step('Preflight', () => preflight(plan.downTools(useK3d), { cwd: ROOT }));

  /** Set by the Configuration step, which ends the script when it fails. @type {import('../lib/config/config.ts').Config} */
  let config = /** @type {any} */ (undefined);
  await step('Configuration', () => {
    config = loadConfig(ROOT);
    return `cluster ${config.cluster.name}`;
  });

  if (useK3d) {
    await step('Cluster', async () => {
      const { name } = config.cluster;
      if (!k3d.findK3dCluster(await probe('k3d', ['cluster', 'list', '-o', 'json']), name)) return `no k3d cluster ${name}: nothing to do`;
      await run('k3d', ['cluster', 'delete', name]);
      return dryRun ? undefined : `deleted k3d cluster ${name}`;
    });
  } else {
    await step('Objects', async () => {
      await checkContext(probe, namedContext);
      const kubectl = (...args) => plan.kubectlArgs(namedContext, ...args);
      const { instance } = config;
      // Where this instance's objects live, whoever owns the Namespace; by label, never by name.
      const used = plan.stackNamespaces(config);
      for (const namespace of used) await run('kubectl', kubectl(...namespaces.deleteOwnedArgs(namespace, config.nats.install, instance)));
      if (config.nats.install === 'helmchart') {
        await run('kubectl', kubectl(...namespaces.deleteOwnedHelmChartArgs(instance)));
      }
      const kept = namespaces.foreignNamespaces(await probe('kubectl', kubectl(...namespaces.namespaceLookupArgs(used))), instance);
      await run('kubectl', kubectl(...namespaces.deleteOwnedNamespacesArgs(instance)));
      if (dryRun) return undefined;
      const left = kept.length ? `; kept namespace(s) ${kept.join(', ')}, which instance ${instance} did not create (only its objects were deleted)` : '';
      return `deleted instance ${instance}'s objects and the namespaces it created from context ${namedContext}${left}`;
    });
    if (flags.purge) {
      // Deleting a StatefulSet keeps its PVCs (and so JetStream's data); only those of our release go.
      await step('Volumes', async () => {
        const { namespace, release } = config.nats;
        const selector = `app.kubernetes.io/instance=${release}`;
        await run('kubectl', plan.kubectlArgs(namedContext, '-n', namespace, 'delete', 'pvc', '-l', selector, '--ignore-not-found'));
        return dryRun ? undefined : `deleted the PVCs of NATS release ${release} in namespace ${namespace}`;
      });
    }
  }

  const keys = pkiPaths(config, ROOT).dir;
  if (flags.purge) {
    await step('Keys', async () => {
      if (!fs.existsSync(keys)) return `${rel(keys)}/ is already gone`;
      if (dryRun) {
        would(`delete the CA, server and client certificates and keys in ${rel(keys)}/, then the folder if nothing else is in it`);
        return undefined;
      }
      const { removed, kept, folderRemoved } = await withProjectLock(ROOT, () => Promise.resolve(removePki(config, ROOT)));
      const next = 'the next up issues a new CA, so hand out the new client certificates';
      return folderRemoved
        ? `deleted ${removed.length} file(s) and ${rel(keys)}/: ${next}`
        : `deleted ${removed.length} file(s) in ${rel(keys)}/ and kept what the PKI did not write: ${kept.map(rel).join(', ')} — ${next}`;
    });
  }

  if (dryRun) {
    log('\nDry run: nothing was changed.');
  } else {
    const kept = !flags.purge && fs.existsSync(keys) ? ` Kept ${rel(keys)}/ (add --purge to delete the certificates).` : '';
    log(`\nDone.${kept} Deploy again: ${shown('npx', ['zx', 'scripts/up.mjs', ...(useK3d ? [] : ['--context', namedContext])])}`);
  }
});
