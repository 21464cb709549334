import { join } from 'node:path';
import { lock } from 'proper-lockfile';
import { UserError } from './errors';

/**
 * One exclusive lock per project around everything that changes the PKI or dist/: two `npm run synth`
 * (or `certs` racing `synth`) would otherwise mix key and certificate generations. A killed holder's
 * lock goes stale once its timestamp stops being refreshed, and the next run takes it over.
 */

/** The lock folder (proper-lockfile creates it atomically with mkdir); git-ignored. */
export const LOCK_NAME = '.k3s-nats-tls.lock';

export interface ProjectLockOptions {
  /** How long to wait for another run to finish before giving up. @default 120000 */
  readonly waitMs?: number;
  /** A lock not refreshed for this long is taken over (its holder was killed). @default 15000 */
  readonly staleMs?: number;
}

/** Runs `body` while holding the project's lock; waits for another holder, and fails with the fix when that takes too long. */
export async function withProjectLock<T>(root: string, body: () => Promise<T>, options: ProjectLockOptions = {}): Promise<T> {
  const lockfilePath = join(root, LOCK_NAME);
  const waitMs = options.waitMs ?? 120_000;
  const staleMs = options.staleMs ?? 15_000;
  let compromised: Error | undefined;
  let release: () => Promise<void>;
  try {
    release = await lock(root, {
      lockfilePath,
      realpath: false,
      stale: staleMs,
      update: Math.max(1000, Math.floor(staleMs / 3)),
      retries: { retries: Math.ceil(waitMs / 250), factor: 1, minTimeout: 250, maxTimeout: 250 },
      onCompromised: (error) => { compromised = error; },
    });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ELOCKED') throw error;
    throw new UserError(`another run (synth, certs, up or down) has held ${lockfilePath} for over ${waitMs / 1000} s: ` +
      `wait for it to finish; if none is running, the lock is released by itself within ${staleMs / 1000} s`, { cause: error });
  }
  let result: T;
  try {
    result = await body();
  } finally {
    await release().catch(() => undefined);
  }
  // Another run may have taken over while this one worked: its work may be mixed with ours.
  if (compromised) throw new UserError(`lost ${lockfilePath} while working (${compromised.message}): run the command again`, { cause: compromised });
  return result;
}
