// Wall-clock helpers shared by the benchmarks.
import { spawnSync, type SpawnSyncOptions } from 'node:child_process';

export const seconds = (start: bigint): number => Number(process.hrtime.bigint() - start) / 1e9;

/** Far above one measured command (a synth or a PKI takes seconds): only a stuck command reaches it. */
const TIMED_LIMIT_MS = 300_000;

/**
 * Runs a command to completion, without stdin, and returns its wall time in seconds; a failure
 * or a run past the limit throws with its stderr.
 */
export function timed(command: string, args: readonly string[], options: SpawnSyncOptions = {}): number {
  const start = process.hrtime.bigint();
  const run = spawnSync(command, args, { stdio: ['ignore', 'ignore', 'pipe'], encoding: 'utf8', timeout: TIMED_LIMIT_MS, killSignal: 'SIGKILL', ...options });
  const elapsed = seconds(start);
  if (run.error && 'code' in run.error && run.error.code === 'ETIMEDOUT') {
    throw new Error(`${command} ${args.join(' ')} did not finish within ${TIMED_LIMIT_MS / 1000} s:\n${String(run.stderr)}`);
  }
  if (run.status !== 0) throw new Error(`${command} ${args.join(' ')} failed:\n${String(run.stderr)}`);
  return elapsed;
}

export const median = (values: readonly number[]): number => {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
};
