/**
 * How the cluster tells this project's objects from everyone else's: every object `up` applies
 * carries this label — the synthesized ones through their charts, the rendered NATS chart through
 * lib/deploy/helm-render.ts — and `up` prunes by it (lib/deploy/prune.ts). Objects without it (k3s's
 * own, the helm controller's, a user's) are never candidates.
 */
export const OWNER_LABEL = { key: 'app.kubernetes.io/part-of', value: 'k3s-nats-tls' } as const;

/** The label as cdk8s and Kubernetes metadata take it. */
export const ownerLabels = (): Record<string, string> => ({ [OWNER_LABEL.key]: OWNER_LABEL.value });

/** The label as a kubectl `-l` selector. */
export const OWNER_SELECTOR = `${OWNER_LABEL.key}=${OWNER_LABEL.value}`;
