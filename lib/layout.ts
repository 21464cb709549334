import { resolve } from 'node:path';

/** Where generated files live, shared by `npm run synth` and the deploy scripts. */

/** Overrides the output folder, as for the cdk8s CLI; empty means unset. */
export const OUTDIR_ENV = 'CDK8S_OUTDIR';

/** The folder `npm run synth` writes (dist/ under `root` unless CDK8S_OUTDIR says otherwise). */
export const distDir = (root: string, env: NodeJS.ProcessEnv = process.env): string => resolve(root, env[OUTDIR_ENV] || 'dist');

/** Helm values for the NATS chart, committed. */
export const NATS_VALUES_FILE = 'helm/nats-values.yaml';

/** The NATS chart rendered by `helm template` in scripts/up.mjs; synth leaves it alone. */
export const NATS_RENDERED_FILE = 'helm/nats.yaml';
