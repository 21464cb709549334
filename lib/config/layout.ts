import { relative, resolve, sep } from 'node:path';
import { UserError } from '../util/errors';
import { projectFolder, type FolderSetting } from '../util/project-folder';
import type { Config } from './config';

/** Where the configuration is read from and generated files live, shared by `npm run synth` and the deploy scripts. */

/** The configuration file in the project folder. */
export const CONFIG_FILE = 'k3s-nats-tls.yaml';
/** Names another configuration file (relative to the project folder); empty means unset. */
export const CONFIG_ENV = 'K3S_NATS_TLS_CONFIG';

/** The configuration file a run reads: the one K3S_NATS_TLS_CONFIG names, else k3s-nats-tls.yaml (which may not exist). */
export const configFilePath = (root: string, env: NodeJS.ProcessEnv): string => resolve(root, env[CONFIG_ENV] || CONFIG_FILE);

/** Overrides the output folder, as for the cdk8s CLI; empty means unset. */
export const OUTDIR_ENV = 'CDK8S_OUTDIR';

/** The setting that names the synth output folder: CDK8S_OUTDIR, or dist/ by default. */
export const outdirSetting = (env: NodeJS.ProcessEnv): FolderSetting =>
  (env[OUTDIR_ENV] ? { setting: OUTDIR_ENV, value: env[OUTDIR_ENV] } : { setting: 'the output folder', value: 'dist' });

/** The setting that names the PKI folder. */
export const pkiDirSetting = (config: Pick<Config, 'pki'>): FolderSetting => ({ setting: 'pki.dir', value: config.pki.dir });

/** The folder `npm run synth` writes: dist/ under `root` unless CDK8S_OUTDIR names another folder inside the project. */
export const distDir = (root: string, env: NodeJS.ProcessEnv): string => projectFolder(root, outdirSetting(env));

const within = (outer: string, inner: string): boolean => {
  const path = relative(outer, inner);
  return path === '' || (!path.startsWith(`..${sep}`) && path !== '..');
};

/**
 * The two folders the tool writes, both inside the project and apart from each other: keys must
 * not land among the committed manifests, nor manifests among the keys.
 */
export function projectFolders(root: string, config: Pick<Config, 'pki'>, env: NodeJS.ProcessEnv): { keys: string; dist: string } {
  const keys = projectFolder(root, pkiDirSetting(config));
  const dist = distDir(root, env);
  if (within(keys, dist) || within(dist, keys)) {
    throw new UserError(`pki.dir '${config.pki.dir}' and ${outdirSetting(env).setting} '${outdirSetting(env).value}' overlap: keep the keys and the manifests in separate folders.`);
  }
  return { keys, dist };
}

/** Helm values for the NATS chart, committed. */
export const NATS_VALUES_FILE = 'helm/nats-values.yaml';

/** The NATS chart rendered by `helm template` in scripts/up.mjs; synth leaves it alone. */
export const NATS_RENDERED_FILE = 'helm/nats.yaml';
