import { K3S_HELMCHART_NAMESPACE, type NatsInstall } from '../constructs/defaults';
import { BUILT_IN_NAMESPACES } from '../constructs/kubernetes-rules';
import { isOwnedBy, ownerSelector } from '../synth/ownership';
import { listedObjects } from './foreign-objects';
import { HELMCHART_KIND, pruneAllowlist } from './prune';

/**
 * Who a Namespace belongs to. `up` never applies the Namespaces file: `kubectl apply` would
 * rewrite the labels of a Namespace that already exists, so a second instance sharing `nats`, or
 * a Namespace the cluster had before, would become this instance's, and `down` would delete
 * everything in it. Instead up creates the Namespaces that are missing (`kubectl create`, which
 * never touches one that exists), with this instance's labels; those labels, set once at
 * creation, are what `down` checks before it deletes a Namespace. Every other Namespace keeps
 * its owner: down deletes only our objects in it, by label, and leaves it.
 */

/** The synthesized file of Namespaces: cdk8s numbers the `namespaces` chart first. */
export const NAMESPACES_MANIFEST = '0000-namespaces.k8s.yaml';

export const createNamespacesArgs = (file: string): string[] => ['create', '-f', file];

export interface NamespacesCreated {
  readonly created: readonly string[];
  readonly existing: readonly string[];
  /** kubectl's own words for anything else that went wrong. */
  readonly problem?: string;
}

/**
 * Reads `kubectl create -f` (stdout and stderr together): each new one prints `namespace/NAME
 * created`; each that exists an AlreadyExists error, and kubectl exits 1. Any other error is a problem.
 */
export function namespacesCreated(code: number, output: string): NamespacesCreated {
  const lines = output.split('\n').map((line) => line.trim()).filter(Boolean);
  const created = lines.flatMap((line) => /^namespace\/(\S+) created$/.exec(line)?.slice(1) ?? []);
  const errors = lines.filter((line) => !/^namespace\/\S+ created$/.test(line));
  const existing = errors.flatMap((line) => /^Error from server \(AlreadyExists\):.* namespaces "([^"]+)" already exists$/.exec(line)?.slice(1) ?? []);
  const others = errors.filter((line) => !/\(AlreadyExists\)/.test(line));
  if (code === 0 || (others.length === 0 && existing.length > 0)) return { created, existing };
  return { created, existing, problem: others.join('\n') || `kubectl create exited with code ${code}` };
}

/** The lookup of the configuration's Namespaces, to tell ours from those that were there before. */
export const namespaceLookupArgs = (names: readonly string[]): string[] => ['get', 'namespace', ...names, '--ignore-not-found', '-o', 'json'];

interface NamespaceObject {
  readonly kind?: string;
  readonly items?: readonly NamespaceObject[];
  readonly metadata?: { readonly name?: string; readonly labels?: Readonly<Record<string, string>> };
}

/** The Namespaces in a manifest or in `kubectl get -o json` output. */
const namespaceObjects = (text: string): NamespaceObject[] => listedObjects<NamespaceObject>(text).filter((object) => object.kind === 'Namespace');

export const namespaceNames = (text: string): string[] => namespaceObjects(text).map((object) => String(object.metadata?.name));

/** Of the Namespaces `kubectl get -o json` printed, those this instance did not create (built-in ones go without saying). */
export const foreignNamespaces = (lookupOutput: string, instance: string): string[] =>
  namespaceObjects(lookupOutput).filter((object) => !isOwnedBy(object.metadata?.labels, instance)).map((object) => String(object.metadata?.name))
    .filter((name) => !BUILT_IN_NAMESPACES.includes(name));

/** An allowlist entry (`apps/v1/Deployment`) as a kubectl resource (`deployment.v1.apps`; core kinds bare). */
const resourceOf = (kind: string): string => {
  const [group, version, name] = kind.split('/');
  return group === 'core' ? name.toLowerCase() : `${name.toLowerCase()}.${version}.${group}`;
};

/**
 * `down --context` in one namespace: our objects of every kind up may create, chosen by this
 * instance's labels in the cluster — never by name, so another instance's or another tool's
 * object of the same name stays. `alsoLabelled` narrows it further (more `key=value` labels).
 */
export function deleteOwnedArgs(namespace: string, install: NatsInstall, instance: string, alsoLabelled: readonly string[] = []): string[] {
  const kinds = pruneAllowlist(install).filter((kind) => kind !== HELMCHART_KIND);
  return ['-n', namespace, 'delete', kinds.map(resourceOf).join(','), '-l', [ownerSelector(instance), ...alsoLabelled].join(','), '--ignore-not-found'];
}

/**
 * The objects of a former `template` rendering of release `release`, when switching to `helmchart`:
 * ours (owner labels) and the chart's — it labels every object `app.kubernetes.io/instance: <release>`
 * and `app.kubernetes.io/managed-by: Helm` (its "nats.labels"); our NodePort shares the first, never
 * the second — and never by the names in the rendered file.
 */
export const deleteRenderedArgs = (namespace: string, release: string, instance: string): string[] =>
  deleteOwnedArgs(namespace, 'template', instance, [`app.kubernetes.io/instance=${release}`, 'app.kubernetes.io/managed-by=Helm']);

/** Our HelmChart (`nats.install: helmchart`), by label, where k3s keeps HelmCharts. */
export const deleteOwnedHelmChartArgs = (instance: string): string[] =>
  ['-n', K3S_HELMCHART_NAMESPACE, 'delete', resourceOf(HELMCHART_KIND), '-l', ownerSelector(instance), '--ignore-not-found'];

/** The Namespaces this instance created, by label: everything still in them goes with them. */
export const deleteOwnedNamespacesArgs = (instance: string): string[] => ['delete', 'namespace', '-l', ownerSelector(instance), '--ignore-not-found'];
