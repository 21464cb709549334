/**
 * Everything scripts/up.mjs and scripts/down.mjs use from lib/, behind one import: tsx gives each
 * importLib() call its own module graph, so a single entry point loads zod and the configuration
 * once instead of once per module (a few hundred milliseconds per run). Namespaces rather than
 * `export *`, which Node's CommonJS export detection cannot follow through tsx.
 */
export { writeFileAtomic } from './atomic-file';
export { echoUrl, loadConfig } from './config';
export * as plan from './deploy-plan';
export * as helm from './helm-render';
export * as k3d from './k3d';
export { NATS_RENDERED_FILE, NATS_VALUES_FILE } from './layout';
export { ensurePki, pkiPaths } from './pki';
