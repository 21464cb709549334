import { echoUrl, natsUrl, type Config } from '../../config/config';
import { shown } from '../runbook';
import type { Deployment } from './deployment';

/** Flags of scripts/verify.mjs for this configuration. */
export function verifyArgs(config: Config, keysDir: string): string[] {
  return ['--echo-url', echoUrl(config.cluster), '--nats-url', natsUrl(config.cluster), '--keys', keysDir];
}

/**
 * The Verify step: `npm run verify` as a process of its own, as the user would run it (its own
 * watchdog and exit code; the tests put a stand-in in its place).
 */
export async function verifyDeployment({ runbook: { run, dryRun }, config }: Deployment): Promise<string | undefined> {
  const args = ['scripts/verify.mjs', ...verifyArgs(config, config.pki.dir)];
  await run(process.execPath, args, { display: shown('node', args) });
  return dryRun ? undefined : 'echo answers and NATS admits exactly the authorized identities';
}
