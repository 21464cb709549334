import type { FolderSetting } from '../util/project-folder';
import { loadConfig, type Config } from './config';
import { configFilePath, outdirSetting, projectFolders } from './layout';

/**
 * The project as an entry point resolves it once — its root, its configuration, its two folders —
 * and hands down: nothing below an entry point reads the configuration file or the environment.
 */
export interface Project {
  /** The checkout: where the configuration file is looked for and the folders are resolved from. */
  readonly root: string;
  readonly config: Config;
  /** The file the configuration was read from (or would be: without it, the defaults apply). */
  readonly configFile: string;
  /** The folder synth writes: dist/, or the one CDK8S_OUTDIR names. */
  readonly dist: string;
  /** The setting that named `dist`, for messages. */
  readonly outdir: FolderSetting;
  /** The PKI folder, pki.dir. */
  readonly keys: string;
}

/**
 * Loads the configuration in `root` (K3S_NATS_TLS_CONFIG in `env` may name another file) and vets
 * both folders (CDK8S_OUTDIR in `env` may move the output folder) before anything is written.
 */
export function loadProject(root: string, env: NodeJS.ProcessEnv): Project {
  const config = loadConfig(root, env);
  const { keys, dist } = projectFolders(root, config, env);
  return { root, config, configFile: configFilePath(root, env), dist, outdir: outdirSetting(env), keys };
}
