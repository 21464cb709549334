import { existsSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { foreignObjects, lookupArgs } from '../../deploy/foreign-objects';
import { applyOrder } from '../../deploy/kubectl';
import { createNamespacesArgs, NAMESPACES_MANIFEST, namespaceLookupArgs, namespaceNames, namespacesCreated } from '../../deploy/namespaces';
import { unlabelledObjects } from '../../deploy/prune';
import { ownerSelector } from '../../synth/ownership';
import { StepFailure } from '../../util/errors';
import { shown } from '../runbook';
import type { Deployment } from './deployment';

/**
 * The manifests in apply order, as kubectl is given them (relative to the project): the Namespaces
 * file is created, never applied (lib/deploy/namespaces.ts); the rest is applied.
 */
export async function manifestFiles({ runbook: { rel }, dist, config }: Deployment): Promise<{ namespacesFile?: string; objectFiles: string[] }> {
  const files = applyOrder(existsSync(dist) ? await readdir(dist) : [], config.nats.install).map((file) => rel(join(dist, file)));
  return {
    namespacesFile: files.find((file) => basename(file) === NAMESPACES_MANIFEST),
    objectFiles: files.filter((file) => basename(file) !== NAMESPACES_MANIFEST),
  };
}

/**
 * `-l` skips an object without our labels without a word, and would prune the one it replaces. Not
 * in a dry run: synth and helm did not run, so the files may still be an older version's.
 */
export async function checkOwnerLabels({ runbook: { root, dryRun }, config }: Deployment, files: readonly string[]): Promise<void> {
  if (dryRun) return;
  for (const file of files) {
    if (!existsSync(join(root, file))) continue;
    const unlabelled = unlabelledObjects(await readFile(join(root, file), 'utf8'), config.instance);
    if (unlabelled.length) {
      throw new StepFailure(`${file}: ${unlabelled.join(', ')} without the labels ${ownerSelector(config.instance)}, which kubectl apply -l would skip`, {
        hint: 'write dist/ afresh with `npm run synth` (a manifest edited by hand needs the labels on every object)',
      });
    }
  }
}

/**
 * Every object about to be written that exists already must be this instance's: apply would take
 * over another instance's or anyone's object of the same name, and a later prune delete it.
 */
export async function checkForeignObjects(
  { runbook: { root, dryRun, probeExit }, config, kubectl }: Deployment, objectFiles: readonly string[],
): Promise<void> {
  // Not in a dry run, for the reason checkOwnerLabels gives.
  if (dryRun) return;
  const present = objectFiles.filter((file) => existsSync(join(root, file)));
  if (present.length === 0) return;
  const args = kubectl(...lookupArgs(present));
  const { code, stdout, output } = await probeExit('kubectl', args);
  if (code !== 0) throw new StepFailure(`exited with code ${code}`, { command: shown('kubectl', args), output });
  const foreign = foreignObjects(stdout, config.instance);
  if (foreign.length === 0) return;
  const [first] = foreign;
  const one = foreign.length === 1;
  throw new StepFailure(`${foreign.map(({ object, owner }) => `${object} (${owner})`).join(', ')} already exist(s) and ` +
    `${one ? 'is' : 'are'} not instance ${config.instance}'s: applying would take ${one ? 'it' : 'them'} over`, {
    command: shown('kubectl', args),
    hint: 'give this instance names of its own (echo.name, echo.namespace, nats.release, nats.namespace in the configuration), ' +
      `or, if ${one ? 'it is' : 'they are'} left over, delete ${one ? 'it' : 'them'}: ` +
      shown('kubectl', kubectl(...(first.namespace ? ['-n', first.namespace] : []), 'delete', first.resource)),
  });
}

/** Creates the Namespaces that do not exist yet, with our labels; one that exists keeps its owner. */
export async function createNamespaces(
  { runbook: { dryRun, would, probeExit }, kubectl }: Deployment, namespacesFile: string | undefined,
): Promise<readonly string[]> {
  if (!namespacesFile) return [];
  const args = kubectl(...createNamespacesArgs(namespacesFile));
  if (dryRun) {
    would(`run: ${shown('kubectl', args)} (the Namespaces that do not exist yet; one that exists is left as it is)`);
    return [];
  }
  const { code, stdout, stderr, output } = await probeExit('kubectl', args);
  // Both streams: kubectl says what it created on stdout and what existed on stderr.
  const outcome = namespacesCreated(code, `${stdout}\n${stderr}`);
  if (outcome.problem) throw new StepFailure(`exited with code ${code}`, { command: shown('kubectl', args), output });
  return outcome.created;
}

/** The configuration's Namespaces that up would create. */
export async function missingNamespaces({ runbook: { root, probe }, kubectl }: Deployment, namespacesFile: string | undefined): Promise<string[]> {
  if (!namespacesFile || !existsSync(join(root, namespacesFile))) return [];
  const wanted = namespaceNames(await readFile(join(root, namespacesFile), 'utf8'));
  const existing = namespaceNames(await probe('kubectl', kubectl(...namespaceLookupArgs(wanted))));
  return wanted.filter((name) => !existing.includes(name));
}
