// Benchmarks `npm run synth` against the floor any cdk8s program pays: node loading cdk8s and
// cdk8s-plus-27. Then runs the PKI benchmark. Prints medians and ratios; asserts nothing.
//   npm run bench [-- --runs=7]
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { argv, chalk, path } from 'zx';
import { checkFlags } from './lib/runbook.mjs';
import { median, timed } from './lib/timing.mjs';

const USAGE = `Usage: npm run bench [-- --runs=N]

Times \`npm run synth\` against node loading cdk8s and cdk8s-plus-27, then runs the certificate
benchmark (npm run bench:certs). Prints medians and ratios; writes nothing to the project.

  --runs=N   measured runs of each command, after one warm-up run (default 7)
  --help     show this help`;

checkFlags(argv, { booleans: ['help'], counts: ['runs'], usage: USAGE });
if (argv.help) {
  console.log(USAGE);
  process.exit(0);
}

const runs = argv.runs ?? 7;
const root = path.join(import.meta.dirname, '..');

/** Median wall time of `command args` over `runs` runs, after one warm-up run (the page cache). */
function medianOf(command, args, env = process.env) {
  timed(command, args, { cwd: root, env });
  return median(Array.from({ length: runs }, () => timed(command, args, { cwd: root, env })));
}

const verdict = (ok) => (ok ? chalk.green('met') : chalk.red('missed'));

console.log(chalk.bold(`synth benchmark (median of ${runs} runs, ${process.version})`));
const load = medianOf(process.execPath, ['-e', "require('cdk8s'); require('cdk8s-plus-27')"]);
// Into a scratch folder: benchmarking must not rewrite the project's dist/.
const outdir = mkdtempSync(path.join(tmpdir(), 'bench-synth-'));
const synth = medianOf('npm', ['run', '--silent', 'synth'], { ...process.env, CDK8S_OUTDIR: outdir });
rmSync(outdir, { recursive: true, force: true });
console.log(`  node loading cdk8s + cdk8s-plus-27  ${load.toFixed(3)} s`);
console.log(`  npm run synth                       ${synth.toFixed(3)} s   target ≤ 1.000 s: ${verdict(synth <= 1)}`);
console.log(`  ratio synth / load                  ${(synth / load).toFixed(2)}×   target ≤ 4×: ${verdict(synth / load <= 4)}`);
console.log();

const certs = spawnSync(process.execPath, [path.join(import.meta.dirname, 'bench-certs.mjs'), `--runs=${runs}`], { cwd: root, stdio: ['ignore', 'inherit', 'inherit'] });
process.exitCode = certs.status ?? 1;
