import { existsSync } from 'node:fs';
import { chalk } from 'zx';
import { loadConfig, natsContextsTarget } from '../config/config';
import { contextText, natsContextDir, natsContexts, tryCommands, writeNatsContexts } from '../nats/contexts';
import { pkiPaths } from '../pki/paths';
import { runCli, scriptArgs, type CommandSpec } from '../util/cli';
import { displayPath } from '../util/display-path';
import { UserError } from '../util/errors';
import { LINE_EACH_UP_TO, listed } from '../util/listed';
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
    throw new UserError(`${listed(missing.map((file) => displayPath(file, root)))} ${missing.length === 1 ? 'is' : 'are'} missing: run \`npm run synth\` (or \`npm run certs\`) first to issue the certificates`);
  }

  const dir = natsContextDir(process.env);
  const dryRun = Boolean(flags['dry-run']);
  console.log(chalk.bold(`${dryRun ? 'Would write' : 'Writing'} nats contexts in ${dir}`));
  const outcomes = writeNatsContexts(wanted, dir, { dryRun });
  const verbs = { written: dryRun ? 'would write' : 'written', updated: dryRun ? 'would update' : 'updated', unchanged: 'unchanged' };
  const shownAs = (status: keyof typeof verbs, line: string) => console.log(status === 'unchanged' ? line : chalk.green(line));
  for (const outcome of outcomes) if (outcome.status === 'skipped') console.log(chalk.yellow(`! ${outcome.warning}`));
  if (outcomes.length <= LINE_EACH_UP_TO) {
    for (const [i, outcome] of outcomes.entries()) {
      if (outcome.status === 'skipped') continue;
      shownAs(outcome.status, `${outcome.status === 'unchanged' ? '=' : '✔'} ${verbs[outcome.status].padEnd(12)} ${outcome.name}  ${outcome.file}`);
      if (dryRun && outcome.status !== 'unchanged') console.log(contextText(wanted[i].settings).replace(/^/gm, '    ').trimEnd());
    }
  } else {
    // A fleet: one line per outcome, naming a few contexts, instead of a line (and a dry run's text) for each.
    for (const status of ['written', 'updated', 'unchanged'] as const) {
      const names = outcomes.filter((outcome) => outcome.status === status).map(({ name }) => name);
      if (names.length) shownAs(status, `${status === 'unchanged' ? '=' : '✔'} ${verbs[status].padEnd(12)} ${names.length} contexts: ${listed(names)}`);
    }
  }

  const usable = wanted.filter((_, i) => outcomes[i].status !== 'skipped');
  if (usable.length && !dryRun) {
    const tried = usable.slice(0, LINE_EACH_UP_TO);
    console.log(`Try ${tried.length < usable.length ? `${tried.length} of the ${usable.length}` : 'them'} once the cluster runs (${chalk.cyan('npx zx scripts/up.mjs')}), sub and pub in two terminals:`);
    for (const context of tried) for (const command of tryCommands(context)) console.log(`  ${chalk.cyan(command)}`);
  }
}, scriptArgs(scriptPath));
