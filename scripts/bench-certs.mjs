#!/usr/bin/env node
// Benchmarks the dev PKI against the recipe's openssl commands: npm run bench:certs [-- --runs=7]
// Everything is written to a temporary folder; keys/ is not touched.
import { createRequire } from 'node:module';
import { chalk } from 'zx';
import { measureCerts } from './lib/bench-certs.mjs';
import { progress } from './lib/timing.mjs';

const require = createRequire(import.meta.url);
require('./lib/ts-hook.cjs');
/** @type {typeof import('../lib/util/cli.ts')} */
const { countFlag, runCli, scriptArgs } = require('../lib/util/cli.ts');

const PROCESS_TARGET = 1.0;
const IN_PROCESS_TARGET = 0.6;
/** @param {number} ratio @param {number} target */
const verdict = (ratio, target) => `target ≤ ${target.toFixed(1)}×: ${ratio <= target ? chalk.green('met') : chalk.red('missed')}`;

/** @type {import('../lib/util/cli.ts').CommandSpec} */
const COMMAND = {
  usage: 'npm run bench:certs --',
  description: "Times issuing the dev PKI (CA, server, 2 clients, RSA 2048) three ways: the recipe's openssl\n" +
    'commands, `npm run certs -- --force`, and ensurePki() inside a running process. Works in a\n' +
    'temporary folder: keys/ is not touched.',
  flags: { runs: { type: 'string', value: 'N', help: 'measured rounds, after one warm-up round (default 7)' } },
};

await runCli(COMMAND, async (flags) => {
  const runs = countFlag(flags, 'runs', 7);
  console.log(chalk.bold(`certificate benchmark: CA + server + 2 clients, RSA 2048 (median of ${runs} runs, ${process.version})`));
  const rounds = progress('round', runs);
  const result = await measureCerts({ runs, onRound: (round) => rounds.step(round) });
  rounds.done();
  const processRatio = result.process / result.openssl;
  const inProcessRatio = result.inProcess / result.openssl;
  console.log(`  openssl recipe (bash gen.sh)         ${result.openssl.toFixed(3)} s`);
  console.log(`  npm run certs -- --force             ${result.process.toFixed(3)} s   ${processRatio.toFixed(2)}×   ${verdict(processRatio, PROCESS_TARGET)}`);
  console.log(`  ensurePki({ force: true }) in-process ${result.inProcess.toFixed(3)} s   ${inProcessRatio.toFixed(2)}×   ${verdict(inProcessRatio, IN_PROCESS_TARGET)}`);
  console.log(chalk.dim('  RSA key generation is random (prime search), so single runs vary widely: compare medians.'));
}, scriptArgs(import.meta.filename));
