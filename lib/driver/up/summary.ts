import { chalk } from 'zx';
import { echoUrl } from '../../config/config';
import { echoHttpsCommand, natsClientCommands } from '../../deploy/user-messages';
import { shown } from '../runbook';
import type { Deployment, Synthesized } from './deployment';

/** How to deploy again, or tear down, from where the user is: the same context. */
export const upAgain = ({ useK3d, context }: Deployment, script: 'up' | 'down'): string =>
  shown('npx', ['zx', `scripts/${script}.mjs`, ...(useK3d ? [] : ['--context', context])]);

/** What up prints at the end: where everything runs and the commands to try it. */
export function printSummary(deployment: Synthesized): void {
  const { runbook: { log, root, dryRun }, config, context, stack } = deployment;
  if (dryRun) {
    log(`\nDry run: nothing was changed. Run without --dry-run to deploy to context ${context}.`);
    return;
  }
  const servers = stack.nats.replicas;
  log(`
${chalk.bold('Deployed')} to kubectl context ${context}.
  NATS:       ${servers} server(s)${servers > 1 ? ' in a cluster' : ''}, JetStream ${config.nats.jetstream.enabled ? 'on' : 'off'}
  http-echo:  curl ${echoUrl(config.cluster)}    # answers "${config.echo.text}"
              ${echoHttpsCommand(config, root)}    # the same over HTTPS, certificate from our CA
  NATS (with the nats CLI${process.cwd() === root ? '' : `, from ${root}`}):`);
  for (const { command, note } of natsClientCommands(config, root)) log(`    ${command}    # ${note}`);
  log(`    npm run contexts    # one nats CLI context per authorized identity: nats --context ${config.cluster.name}-<identity> pub say hi`);
  log(`  Tear down:  ${upAgain(deployment, 'down')}`);
}
