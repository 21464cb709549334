import { parseAllDocuments } from 'yaml';
import { INSTANCE_LABEL, isOwnedBy, PART_OF } from '../synth/ownership';

/**
 * Before `up` writes anything it looks up every object it is about to apply: `kubectl apply` would
 * take over an object of the same kind, namespace and name whoever made it — another instance's
 * Deployment would silently become ours, and a later prune would delete it. An object that exists
 * and is not this instance's (another instance's labels, or none of ours) stops `up` instead.
 * Names stay what the configuration says (they are in certificates, URLs and the README's
 * commands); two instances in one cluster are told apart by the names they are given.
 */

/** The lookup: every object of the manifests that exists, as one JSON document. */
export const lookupArgs = (files: readonly string[]): string[] => ['get', '--ignore-not-found', '-o', 'json', ...files.flatMap((file) => ['-f', file])];

interface LiveObject {
  readonly kind?: string;
  readonly apiVersion?: string;
  readonly items?: readonly LiveObject[];
  readonly metadata?: { readonly name?: string; readonly namespace?: string; readonly labels?: Readonly<Record<string, string>> };
}

export interface ForeignObject {
  /** `kind/name`, with the namespace: "deployment echo in namespace default". */
  readonly object: string;
  /** Whose it is: "instance staging", or "no k3s-nats-tls labels: not made by up". */
  readonly owner: string;
  /** `kind/name` as kubectl takes it. */
  readonly resource: string;
  readonly namespace?: string;
}

/**
 * The objects in YAML or JSON text: a manifest's documents, or what `kubectl get -o json` printed
 * (one object, a List of them, or nothing when none exists).
 */
export function listedObjects<T extends { readonly kind?: string; readonly items?: readonly T[] }>(text: string): T[] {
  return parseAllDocuments(text).flatMap((document) => {
    const object = document.toJS() as T | null;
    return object?.kind === 'List' ? [...(object.items ?? [])] : object ? [object] : [];
  });
}

/**
 * The objects `kubectl get -o json` printed (one object, a List, or nothing when none exists) that
 * are not this instance's.
 */
export function foreignObjects(lookupOutput: string, instance: string): ForeignObject[] {
  return listedObjects<LiveObject>(lookupOutput).filter((item) => !isOwnedBy(item.metadata?.labels, instance)).map((item) => {
    const labels = item.metadata?.labels ?? {};
    const other = labels[PART_OF.key] === PART_OF.value ? labels[INSTANCE_LABEL] : undefined;
    const resource = `${String(item.kind).toLowerCase()}/${String(item.metadata?.name)}`;
    const namespace = item.metadata?.namespace;
    return {
      resource,
      namespace,
      object: `${resource}${namespace ? ` in namespace ${namespace}` : ''}`,
      owner: other !== undefined ? `instance ${other}` : 'no k3s-nats-tls labels: not made by up',
    };
  });
}
