// npm run bench: the two start-up targets, as medians and ratios (it asserts nothing):
//   synth ≤ 1.5 × the time node needs to load cdk8s + cdk8s-plus-27;
//   a no-op `up` (second run, nothing changed) against instant stand-in tools ≤ 1.0 s.
// Then the PKI benchmark (npm run bench:certs) and the suite's phases. Works in scratch copies: the project is not touched.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { chalk, path } from 'zx';
import { requireLib, requireTestSupport } from './lib/project.mjs';
import { median, timed } from './lib/timing.mjs';

const { countFlag, runCli, scriptArgs } = requireLib('util/cli');
const { copyProject } = requireTestSupport('project-copy');
const { fakeToolbox } = requireTestSupport('fake-tools');

const SYNTH_TARGET = 1.5;
const UP_TARGET_SECONDS = 1.0;

/** @type {import('../lib/util/cli.ts').CommandSpec} */
const COMMAND = {
  usage: 'npm run bench --',
  description: 'Times `npm run synth` against node loading cdk8s and cdk8s-plus-27, and a no-op `up` against\n' +
    'instant stand-in tools, then runs the certificate benchmark (npm run bench:certs), then times the\n' +
    "suite's phases once each (test/bench/suite-phases.ts). Prints medians and ratios; works in scratch\n" +
    'copies of the project.',
  flags: { runs: { type: 'string', value: 'N', help: 'measured runs of each command, after one warm-up run (default 7)' } },
};

const verdict = (ok) => (ok ? chalk.green('met') : chalk.red('missed'));

await runCli(COMMAND, async (flags) => {
  const runs = countFlag(flags, 'runs', 7);
  const scratch = mkdtempSync(path.join(tmpdir(), 'k3s-nats-tls-bench-'));
  try {
    const project = copyProject(scratch);
    const env = { ...process.env, K3S_NATS_TLS_CONFIG: '', CDK8S_OUTDIR: '' };
    /** Median wall time of `command args` in the copy, after one warm-up run (the page cache, and the PKI). */
    /** @type {(command: string, args: string[], runEnv?: NodeJS.ProcessEnv) => number} */
    const medianOf = (command, args, runEnv = env) => {
      timed(command, args, { cwd: project, env: runEnv });
      return median(Array.from({ length: runs }, () => timed(command, args, { cwd: project, env: runEnv })));
    };

    console.log(chalk.bold(`start-up benchmark (median of ${runs} runs, ${process.version})`));
    const load = medianOf(process.execPath, ['-e', "require('cdk8s'); require('cdk8s-plus-27')"]);
    const synth = medianOf(process.execPath, ['--require', './scripts/lib/ts-hook.cjs', 'main.ts']);
    const tools = fakeToolbox(scratch);
    const zx = path.join(project, 'node_modules', 'zx', 'build', 'cli.js');
    // The warm-up run creates the stand-in cluster and renders the chart; the measured runs change nothing.
    const up = medianOf(process.execPath, [zx, 'scripts/up.mjs', '--no-verify'], /** @type {NodeJS.ProcessEnv} */ ({ HOME: process.env.HOME, ...tools.env }));
    console.log(`  node loading cdk8s + cdk8s-plus-27   ${load.toFixed(3)} s`);
    console.log(`  npm run synth                        ${synth.toFixed(3)} s   ${(synth / load).toFixed(2)}× the load   target ≤ ${SYNTH_TARGET}×: ${verdict(synth / load <= SYNTH_TARGET)}`);
    console.log(`  no-op up (instant stand-in tools)    ${up.toFixed(3)} s   ${(up / load).toFixed(2)}× the load   target ≤ ${UP_TARGET_SECONDS.toFixed(1)} s: ${verdict(up <= UP_TARGET_SECONDS)}`);
    console.log();
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }

  const certs = spawnSync(process.execPath, [path.join(import.meta.dirname, 'bench-certs.mjs'), `--runs=${runs}`], { stdio: ['ignore', 'inherit', 'inherit'] });
  const suite = spawnSync(process.execPath, ['--require', path.join(import.meta.dirname, 'lib', 'ts-hook.cjs'), path.join(import.meta.dirname, '..', 'test', 'bench', 'suite-phases.ts')], { stdio: ['ignore', 'inherit', 'inherit'] });
  process.exitCode = (certs.status ?? 1) || (suite.status ?? 1);
}, scriptArgs(import.meta.filename));
