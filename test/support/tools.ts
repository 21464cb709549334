import { accessSync, constants } from 'node:fs';
import { relative, resolve } from 'node:path';
import { toolPath } from '../tools/build';

/**
 * Where the tests find the real programs `npm run tools` builds from test/tools/<module>/go.mod: the
 * chart's nats-server and the `nats` CLI the seed recipe's proof uses. Looked up when a test starts
 * one, so a missing program fails that test with one line saying how to get it.
 */

const REPO = resolve(__dirname, '..', '..');

export class MissingToolError extends Error {
  override readonly name = 'MissingToolError';
}

const isExecutable = (path: string): boolean => {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
};

/** test/tools/.bin/<binary>, or the path in the environment variable `override` when it is set. */
export function testTool(binary: string, module: string, override?: string, env: NodeJS.ProcessEnv = process.env): string {
  const chosen = override ? env[override] : undefined;
  if (chosen) {
    if (!isExecutable(chosen)) throw new MissingToolError(`${override}=${chosen} is not an executable: fix the path or unset it`);
    return chosen;
  }
  const path = toolPath(binary);
  if (!isExecutable(path)) {
    throw new MissingToolError(`${relative(REPO, path)} is missing: run \`npm run tools -- ${module}\` (it builds ${binary} from test/tools/${module}/go.mod)`);
  }
  return path;
}

/** nats-server v2.14.2, the chart's version; NATS_SERVER_BIN runs another build instead. */
export const natsServerBin = (env?: NodeJS.ProcessEnv): string => testTool('nats-server', 'nats-server', 'NATS_SERVER_BIN', env);

/** The `nats` CLI (natscli v0.5.0). */
export const natsCliBin = (env?: NodeJS.ProcessEnv): string => testTool('nats', 'natscli', undefined, env);
