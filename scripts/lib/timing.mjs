// Wall-clock helpers shared by the benchmarks.
import { spawnSync } from 'node:child_process';

/** @param {bigint} start from process.hrtime.bigint() */
export const seconds = (start) => Number(process.hrtime.bigint() - start) / 1e9;

/** Far above one measured command (a synth or a PKI takes seconds): only a stuck command reaches it. */
const TIMED_LIMIT_MS = 300_000;

/**
 * Runs a command to completion, without stdin, and returns its wall time in seconds; a failure
 * or a run past the limit throws with its stderr.
 * @param {string} command @param {readonly string[]} args @param {{ cwd?: string, env?: NodeJS.ProcessEnv }} [options]
 */
export function timed(command, args, options) {
  const start = process.hrtime.bigint();
  const run = spawnSync(command, args, { stdio: ['ignore', 'ignore', 'pipe'], encoding: 'utf8', timeout: TIMED_LIMIT_MS, killSignal: 'SIGKILL', ...options });
  const elapsed = seconds(start);
  if (/** @type {NodeJS.ErrnoException | undefined} */ (run.error)?.code === 'ETIMEDOUT') throw new Error(`${command} ${args.join(' ')} did not finish within ${TIMED_LIMIT_MS / 1000} s:\n${run.stderr}`);
  if (run.status !== 0) throw new Error(`${command} ${args.join(' ')} failed:\n${run.stderr}`);
  return elapsed;
}

/** @param {readonly number[]} values */
export const median = (values) => {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
};

/**
 * A "round i/n" line that rewrites itself on a terminal and prints nothing into a pipe or a log.
 * @param {string} label @param {number} total @returns {{ step(i: number): void, done(): void }}
 */
export function progress(label, total) {
  if (!process.stdout.isTTY) return { step() {}, done() {} };
  return {
    step: (i) => process.stdout.write(`\r  ${label} ${i}/${total}`),
    done: () => process.stdout.write('\r\x1b[K'),
  };
}
