/**
 * How the cluster tells this project's objects from everyone else's: every object `up` applies
 * carries these labels — the synthesized ones through their charts, the rendered NATS chart through
 * lib/deploy/helm-render.ts — and `up` prunes by them (lib/deploy/prune.ts). Objects without them
 * (k3s's own, the helm controller's, another app's, another instance's) are never candidates.
 */

/** The application, fixed: what a person looks for with `kubectl get -l`. */
export const PART_OF = { key: 'app.kubernetes.io/part-of', value: 'k3s-nats-tls' } as const;

/**
 * The deployment (`instance` in the configuration). Not app.kubernetes.io/instance: the NATS chart
 * already sets that one to the Helm release on its objects.
 */
export const INSTANCE_LABEL = 'k3s-nats-tls/instance';

/** The labels of one instance's objects, as cdk8s and Kubernetes metadata take them. */
export const ownerLabels = (instance: string): Record<string, string> => ({ [PART_OF.key]: PART_OF.value, [INSTANCE_LABEL]: instance });

/** The labels as a kubectl `-l` selector: both must match. */
export const ownerSelector = (instance: string): string =>
  Object.entries(ownerLabels(instance)).map(([key, value]) => `${key}=${value}`).join(',');

/** Whether `labels` (an object's metadata.labels) mark it as this instance's. */
export const isOwnedBy = (labels: Readonly<Record<string, unknown>> | undefined, instance: string): boolean =>
  Object.entries(ownerLabels(instance)).every(([key, value]) => labels?.[key] === value);
