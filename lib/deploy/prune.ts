import { parseAllDocuments } from 'yaml';
import type { NatsInstall } from '../constructs/defaults';
import { isOwnedBy, ownerSelector } from '../synth/ownership';

/**
 * How `up` removes what disappeared from dist/: one `kubectl apply --prune` of every manifest, scoped
 * by this instance's owner labels and by an allowlist of kinds. kubectl then deletes an object only
 * when it carries the labels, was applied by kubectl (it has kubectl's last-applied annotation), is
 * of an allowed kind, lives in a namespace this apply writes to, and is not in the files. Why not
 * ApplySet: docs/deploy.md, "Pruning".
 */

/**
 * Kinds `up` may delete, as `--prune-allowlist` takes them (group/version/Kind, `core` for the core
 * group): every built-in kind the constructs or the NATS chart create, with any configuration. A
 * fixed list, not the kinds in dist/ now: when the last Ingress goes, Ingress must still be pruned.
 * Namespace is left out on purpose: deleting one deletes everything in it, ours or not.
 */
export const PRUNABLE_KINDS: readonly string[] = [
  'core/v1/ConfigMap', 'core/v1/Secret', 'core/v1/Service', 'core/v1/ServiceAccount',
  'apps/v1/Deployment', 'apps/v1/StatefulSet', 'networking.k8s.io/v1/Ingress', 'policy/v1/PodDisruptionBudget',
];

/**
 * k3s's HelmChart, prunable only with `nats.install: helmchart`: the kind exists on k3s alone (kubectl
 * rejects an allowlist naming an unknown kind), and when switching to `template` up removes it itself,
 * waiting for the helm controller to uninstall the release before the rendering is applied.
 */
export const HELMCHART_KIND = 'helm.cattle.io/v1/HelmChart';

export const pruneAllowlist = (install: NatsInstall): string[] =>
  install === 'helmchart' ? [...PRUNABLE_KINDS, HELMCHART_KIND] : [...PRUNABLE_KINDS];

/**
 * Arguments of the one `kubectl apply` (or `kubectl diff`, which shows what would be pruned) of all
 * manifests, in apply order. `-l` also filters the files: an object without the labels would be
 * skipped, which is why up checks them first (`unlabelledObjects`).
 */
export function pruningArgs(verb: 'apply' | 'diff', files: readonly string[], install: NatsInstall, instance: string): string[] {
  return [
    verb, '--prune', '-l', ownerSelector(instance),
    ...pruneAllowlist(install).map((kind) => `--prune-allowlist=${kind}`),
    ...files.flatMap((file) => ['-f', file]),
  ];
}

/** Objects of a manifest ("Kind name") without this instance's labels: `kubectl apply -l` would silently skip them. */
export function unlabelledObjects(manifest: string, instance: string): string[] {
  return parseAllDocuments(manifest)
    .map((document) => document.toJS() as { kind?: string; metadata?: { name?: string; labels?: Record<string, unknown> } } | null)
    .filter((object) => object !== null && typeof object === 'object' && !isOwnedBy(object.metadata?.labels, instance))
    .map((object) => `${String(object?.kind)} ${String(object?.metadata?.name)}`);
}

/** What `kubectl apply --prune` deleted, as it reports it ("service/nats-np"), from its output. */
export const prunedObjects = (applyOutput: string): string[] =>
  applyOutput.split('\n').flatMap((line) => /^(\S+) pruned$/.exec(line.trim())?.slice(1) ?? []);

/**
 * The objects `kubectl diff` shows, from the headers of its unified diffs: kubectl names each file
 * `<group.>version.Kind.namespace.name` under its LIVE and MERGED folders.
 */
export const diffedObjects = (diffOutput: string): string[] =>
  diffOutput.split('\n').flatMap((line) => /^diff -u -N \S+\/(\S+) \S+$/.exec(line)?.slice(1) ?? []);

/** What one `kubectl diff --prune` answered. */
export type DiffOutcome =
  | { readonly verdict: 'same' }
  | { readonly verdict: 'differs'; readonly objects: string[] }
  | { readonly verdict: 'failed'; readonly problem: string };

/** kubectl's warning when it could not list what would be pruned (diff.go); the diff then runs without those objects. */
const PRUNING_FAILED = /pruning failed and could not be evaluated/;

/**
 * Reads kubectl diff's exit code together with its output. kubectl exits with the status of the
 * diff program it runs over the two versions (kubectl's diff.go): 0 the same, 1 different, more an
 * error — but a diff program exiting 1 is not always a difference, and kubectl only warns when it
 * cannot list what would be pruned, then exits 0 or 1 as if nothing would be. So: a difference is
 * code 1 with at least one unified diff on stdout; the warning is a failure whatever the code.
 */
export function diffOutcome(code: number, stdout: string, stderr: string): DiffOutcome {
  if (code > 1) return { verdict: 'failed', problem: `exited with code ${code}` };
  if (PRUNING_FAILED.test(stderr)) return { verdict: 'failed', problem: `kubectl could not tell what would be pruned (exit code ${code})` };
  if (code === 0) return { verdict: 'same' };
  const objects = diffedObjects(stdout);
  if (objects.length === 0) return { verdict: 'failed', problem: 'exited with code 1 but printed no differences: an error, not a diff' };
  return { verdict: 'differs', objects };
}
