import { existsSync } from 'node:fs';
import { chalk } from 'zx';
import { loadConfig, natsContextsTarget } from '../config/config';
import { contextText, natsContextDir, natsContexts, tryCommands, writeNatsContexts } from '../nats/contexts';
import { pkiPaths } from '../pki/pki';
import { runCli, scriptArgs, type CommandSpec } from '../util/cli';
import { displayPath } from '../util/display-path';
import { UserError } from '../util/errors';
import { PROJECT_ROOT } from './runbook';

const CONTEXTS_COMMAND: CommandSpec = {
  usage: 'npm run contexts --',
  description: 'Writes a nats CLI context per authorized identity (<cluster>-<identity>) into $XDG_CONFIG_HOME/nats/context\n' +
    '(default ~/.config/nats/context), pointing at the certificates in pki.dir. Replaces only contexts it wrote itself;\n' +
    'never changes which context nats has selected.',
  flags: {
    'dry-run': { type: 'boolean', help: 'print what would be written, and write nothing' },
  },
};

/**
 * `npm run contexts`: writes one natscli context per authorized identity, so that `nats --context
 * <cluster>-<identity> pub demo hi` reaches the cluster's NATS with that identity's certificate.
 */
export const contexts = (scriptPath: string): Promise<void> => runCli(CONTEXTS_COMMAND, async (flags) => {
  const root = PROJECT_ROOT;
  const config = loadConfig(root, process.env);
  const paths = pkiPaths(config, root);
  const wanted = natsContexts(natsContextsTarget(config), paths, root);
  const needed = [paths.caCert, ...wanted.flatMap(({ identity }) => [paths.identityCert(identity.name), paths.identityKey(identity.name)])];
  const missing = needed.filter((file) => !existsSync(file));
  if (missing.length) {
    throw new UserError(`${missing.map((file) => displayPath(file, root)).join(', ')} ${missing.length === 1 ? 'is' : 'are'} missing: run \`npm run synth\` (or \`npm run certs\`) first to issue the certificates`);
  }

  const dir = natsContextDir(process.env);
  const dryRun = Boolean(flags['dry-run']);
  console.log(chalk.bold(`${dryRun ? 'Would write' : 'Writing'} nats contexts in ${dir}`));
  const outcomes = writeNatsContexts(wanted, dir, { dryRun });
  for (const [i, outcome] of outcomes.entries()) {
    if (outcome.status === 'skipped') {
      console.log(chalk.yellow(`! ${outcome.warning}`));
    } else {
      const verb = { written: dryRun ? 'would write' : 'written', updated: dryRun ? 'would update' : 'updated', unchanged: 'unchanged' }[outcome.status];
      const line = `${outcome.status === 'unchanged' ? '=' : '✔'} ${verb.padEnd(12)} ${outcome.name}  ${outcome.file}`;
      console.log(outcome.status === 'unchanged' ? line : chalk.green(line));
      if (dryRun && outcome.status !== 'unchanged') console.log(contextText(wanted[i].settings).replace(/^/gm, '    ').trimEnd());
    }
  }

  const usable = wanted.filter((_, i) => outcomes[i].status !== 'skipped');
  if (usable.length && !dryRun) {
    console.log(`Try them once the cluster runs (${chalk.cyan('npx zx scripts/up.mjs')}), sub and pub in two terminals:`);
    for (const context of usable) for (const command of tryCommands(context)) console.log(`  ${chalk.cyan(command)}`);
  }
}, scriptArgs(scriptPath));
