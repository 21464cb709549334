#!/usr/bin/env node
// Benchmarks the dev PKI against the recipe's openssl commands: npm run bench:certs [-- --runs=7]
// Everything is written to a temporary folder; keys/ is not touched.
import { argv, chalk } from 'zx';
import { measureCerts } from './lib/bench-certs.mjs';
import { checkFlags } from './lib/runbook.mjs';
import { progress } from './lib/timing.mjs';

const USAGE = `Usage: npm run bench:certs [-- --runs=N]

Times issuing the dev PKI (CA, server, 2 clients, RSA 2048) three ways: the recipe's openssl
commands, \`npm run certs -- --force\`, and ensurePki() inside a running process. Works in a
temporary folder: keys/ is not touched.

  --runs=N   measured rounds, after one warm-up round (default 7)
  --help     show this help`;

checkFlags(argv, { booleans: ['help'], counts: ['runs'], usage: USAGE });
if (argv.help) {
  console.log(USAGE);
  process.exit(0);
}

const runs = argv.runs ?? 7;
const PROCESS_TARGET = 1.0;
const IN_PROCESS_TARGET = 0.6;
const verdict = (ratio, target) => `target ≤ ${target.toFixed(1)}×: ${ratio <= target ? chalk.green('met') : chalk.red('missed')}`;

console.log(chalk.bold(`certificate benchmark: CA + server + 2 clients, RSA 2048 (median of ${runs} runs, ${process.version})`));
const rounds = progress('round', runs);
const result = await measureCerts({ runs, onRound: rounds.step });
rounds.done();
const processRatio = result.process / result.openssl;
const inProcessRatio = result.inProcess / result.openssl;
console.log(`  openssl recipe (bash gen.sh)         ${result.openssl.toFixed(3)} s`);
console.log(`  npm run certs -- --force             ${result.process.toFixed(3)} s   ${processRatio.toFixed(2)}×   ${verdict(processRatio, PROCESS_TARGET)}`);
console.log(`  ensurePki({ force: true }) in-process ${result.inProcess.toFixed(3)} s   ${inProcessRatio.toFixed(2)}×   ${verdict(inProcessRatio, IN_PROCESS_TARGET)}`);
console.log(chalk.dim('  RSA key generation is random (prime search), so single runs vary widely: compare medians.'));
