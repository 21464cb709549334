import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseConfig } from '../../lib/config/config';
import { ensurePki } from '../../lib/pki/pki';
import { withProjectLock } from '../../lib/util/project-lock';

/**
 * One default PKI per jest run, for the tests that need valid keys but are not about issuing them.
 * Issuing costs 0.5–2.5 s of CPU (RSA key generation is a random search); jest's global set-up makes
 * one folder per run, the first test file that asks issues into it, and the others, in any worker,
 * find it current. Callers copy it: tests that change keys change their own copy.
 */

/** The run's folder, handed from the global set-up to the workers. */
const RUN_DIR_ENV = 'K3S_NATS_TLS_TEST_FIXTURE_DIR';

/** jest.config.js's globalSetup. */
export function createFixtureDir(): void {
  process.env[RUN_DIR_ENV] = mkdtempSync(join(tmpdir(), 'k3s-nats-tls-fixture-'));
}

/** jest.config.js's globalTeardown. */
export function removeFixtureDir(): void {
  const dir = process.env[RUN_DIR_ENV];
  if (dir) rmSync(dir, { recursive: true, force: true });
}

let issued: Promise<string> | undefined;

/** The keys/ folder of the run's default PKI. */
export function fixtureKeys(): Promise<string> {
  issued ??= (async () => {
    const dir = process.env[RUN_DIR_ENV];
    if (!dir) throw new Error(`${RUN_DIR_ENV} is not set: run the tests with jest.config.js, whose globalSetup makes the run's folder`);
    // ensurePki writes keys/ step by step: the lock keeps a second worker from reading it half-written.
    await withProjectLock(dir, () => ensurePki(parseConfig({}), { baseDir: dir }));
    return join(dir, 'keys');
  })();
  return issued;
}
