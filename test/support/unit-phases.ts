import { spawnSync } from 'node:child_process';
import { resolve } from 'node:path';
import { $ } from 'zx';

/**
 * `npm run test:unit`: the type check and the linter side by side, then jest with this command's
 * arguments (`npm run test:unit -- test/up.test.ts`). Each check is one single-threaded process, so
 * on two cores both take the time of the longer one; jest's workers then have the cores to
 * themselves. A failed check prints its output and ends the run before jest, with exit code 1.
 */

const ROOT = resolve(__dirname, '..', '..');
/** The npm scripts run before jest, in the order their output is printed. */
export const CHECKS = ['typecheck', 'lint'] as const;
/** Either check takes about a minute on a busy 2-core machine: an hour means it is stuck. */
const CHECK_LIMIT = '60m';
const JEST_LIMIT_MS = 3 * 3600_000;

async function main(): Promise<void> {
  const checks = await Promise.all(CHECKS.map((name) =>
    $({ cwd: ROOT, quiet: true, nothrow: true, timeout: CHECK_LIMIT, stdio: ['ignore', 'pipe', 'pipe'] })`npm run -s ${name}`));
  for (const output of checks) process.stdout.write(output.stdout + output.stderr);
  const failed = CHECKS.filter((_, i) => checks[i].exitCode !== 0);
  if (failed.length > 0) {
    console.error(`✖ ${failed.map((name) => `npm run ${name}`).join(' and ')} failed: jest did not run`);
    process.exitCode = 1;
    return;
  }
  const jest = spawnSync(process.execPath, [require.resolve('jest/bin/jest'), ...process.argv.slice(2)], {
    cwd: ROOT, stdio: ['ignore', 'inherit', 'inherit'], timeout: JEST_LIMIT_MS, killSignal: 'SIGKILL',
  });
  if (jest.error) console.error(`✖ jest: ${jest.error.message}`);
  process.exitCode = jest.status ?? 1;
}

if (require.main === module) void main();
