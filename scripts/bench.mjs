// Benchmarks `npm run synth` against the floor any cdk8s program pays: node loading cdk8s and
// cdk8s-plus-27. Then runs the PKI benchmark. Prints medians and ratios; asserts nothing.
import { spawnSync } from 'node:child_process';
import { argv, chalk, path } from 'zx';

const runs = Number(argv.runs ?? 7);
const root = path.join(import.meta.dirname, '..');

/** Median wall time in seconds of `command args`, after one warm-up run (the page cache). */
function median(command, args) {
  const times = [];
  for (let i = 0; i <= runs; i++) {
    const start = process.hrtime.bigint();
    const run = spawnSync(command, args, { cwd: root, stdio: ['ignore', 'ignore', 'pipe'], encoding: 'utf8' });
    if (run.status !== 0) throw new Error(`${command} ${args.join(' ')} failed:\n${run.stderr}`);
    if (i > 0) times.push(Number(process.hrtime.bigint() - start) / 1e9);
  }
  times.sort((a, b) => a - b);
  return times[Math.floor(times.length / 2)];
}

const verdict = (ok) => (ok ? chalk.green('met') : chalk.red('missed'));

console.log(chalk.bold(`synth benchmark (median of ${runs} runs, ${process.version})`));
const load = median(process.execPath, ['-e', "require('cdk8s'); require('cdk8s-plus-27')"]);
const synth = median('npm', ['run', '--silent', 'synth']);
console.log(`  node loading cdk8s + cdk8s-plus-27  ${load.toFixed(3)} s`);
console.log(`  npm run synth                       ${synth.toFixed(3)} s   target ≤ 1.000 s: ${verdict(synth <= 1)}`);
console.log(`  ratio synth / load                  ${(synth / load).toFixed(2)}×   target ≤ 4×: ${verdict(synth / load <= 4)}`);
console.log();

const certs = spawnSync(process.execPath, [path.join(import.meta.dirname, 'bench-certs.mjs'), `--runs=${runs}`], { cwd: root, stdio: 'inherit' });
process.exitCode = certs.status ?? 1;
