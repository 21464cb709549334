#!/usr/bin/env node
// npm run verify: proves the running deployment answers as configured — http-echo through Traefik,
// NATS over mutual TLS admitting only the authorized identities. Exit 0: every check matched;
// 1: a check failed (or the configuration/keys are unusable); 2: wrong flags.
import { argv, chalk } from 'zx';
import { requireLib } from './lib/project.mjs';

const { UserError } = requireLib('errors');
const { UsageError, VERIFY_USAGE, loadVerifyOptions, runVerify, formatTable, summarize } = requireLib('verify');

if (argv.help) {
  console.log(VERIFY_USAGE);
  process.exit(0);
}

try {
  const options = loadVerifyOptions(argv);
  console.log(`Checking ${options.echoUrl} and ${options.natsUrl} with the keys in ${options.keys.dir} (giving up after ${options.timeoutMs / 1000} s)`);
  const results = await runVerify(options, (result) => {
    console.log(`${result.ok ? chalk.green('✔') : chalk.red('✖')} ${result.check}: ${result.got}`);
  });

  const passed = results.every((result) => result.ok);
  console.log(`\n${formatTable(results)}\n`);
  console.log(passed ? chalk.green(`✔ ${summarize(results, options)}`) : chalk.red(`✖ ${summarize(results, options)}`));
  process.exitCode = passed ? 0 : 1;
} catch (error) {
  if (!(error instanceof UserError)) throw error;
  console.error(chalk.red(`✖ ${error.message}`));
  if (error instanceof UsageError) console.error(VERIFY_USAGE);
  process.exitCode = error instanceof UsageError ? 2 : 1;
}
