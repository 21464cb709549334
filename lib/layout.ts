/** Where generated files live inside dist/, shared by `npm run synth` and the deploy scripts. */

/** Helm values for the NATS chart, committed. */
export const NATS_VALUES_FILE = 'helm/nats-values.yaml';

/** The NATS chart rendered by `helm template` in scripts/up.mjs; synth leaves it alone. */
export const NATS_RENDERED_FILE = 'helm/nats.yaml';
