import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chalk } from 'zx';
import { countFlag, runCli, type CommandSpec } from '../../lib/util/cli';
import { UsageError } from '../../lib/util/errors';
import { progressLine } from '../../lib/util/progress-line';
import { identitySizes, measureFleetSynth } from '../../test/support/bench-fleet';
import { fakeToolbox } from '../../test/support/fake-tools';
import { copyProject } from '../../test/support/project-copy';
import { median, timed } from './timing';

/**
 * `npm run bench`: the start-up targets as medians and ratios (it asserts nothing) — synth against
 * the time node needs to load cdk8s + cdk8s-plus-27, a no-op `up` (second run, nothing changed)
 * against instant stand-in tools — then the PKI benchmark (npm run bench:certs) and the suite's
 * phases. Works in scratch copies: the project is not touched.
 */

const SYNTH_TARGET = 1.0;
const UP_TARGET_SECONDS = 0.5;
const SCRIPTS = join(__dirname, '..');

const BENCH_COMMAND: CommandSpec = {
  usage: 'npm run bench --',
  description: 'Times `npm run synth` against node loading cdk8s and cdk8s-plus-27, and a no-op `up` against\n' +
    'instant stand-in tools, then runs the certificate benchmark (npm run bench:certs), then times the\n' +
    "suite's phases once each (test/bench/suite-phases.ts). Prints medians and ratios; works in scratch\n" +
    'copies of the project.',
  flags: {
    runs: { type: 'string', value: 'N', help: 'measured runs of each command, after one warm-up run (default 7)' },
    identities: { type: 'string', value: 'N,N,…', help: 'also a no-op synth with fleets of these sizes, and its cost per identity (e.g. 10,100,1000)' },
  },
};

const verdict = (ok: boolean): string => (ok ? chalk.green('met') : chalk.red('missed'));

/** A benchmark of its own, as a child process whose output is this one's; its exit status. */
const runChild = (args: readonly string[]): number =>
  spawnSync(process.execPath, args, { stdio: ['ignore', 'inherit', 'inherit'] }).status ?? 1;

export const bench = (args: readonly string[]): Promise<void> => runCli(BENCH_COMMAND, async (flags) => {
  const runs = countFlag(flags, 'runs', 7);
  const sizes = identitySizes(flags.identities);
  if (sizes?.length === 0) throw new UsageError('--identities needs whole numbers above 0, separated by commas (e.g. 10,100,1000)');
  const scratch = mkdtempSync(join(tmpdir(), 'k3s-nats-tls-bench-'));
  try {
    const project = copyProject(scratch);
    const env = { ...process.env, K3S_NATS_TLS_CONFIG: '', CDK8S_OUTDIR: '' };
    /** Median wall time of `command args` in the copy, after one warm-up run (the page cache, and the PKI). */
    const medianOf = (command: string, commandArgs: string[], runEnv: NodeJS.ProcessEnv = env): number => {
      timed(command, commandArgs, { cwd: project, env: runEnv });
      return median(Array.from({ length: runs }, () => timed(command, commandArgs, { cwd: project, env: runEnv })));
    };

    console.log(chalk.bold(`start-up benchmark (median of ${runs} runs, ${process.version})`));
    const load = medianOf(process.execPath, ['-e', "require('cdk8s'); require('cdk8s-plus-27')"]);
    const synth = medianOf(process.execPath, ['--require', './scripts/lib/ts-hook.cjs', 'main.ts']);
    const tools = fakeToolbox(scratch);
    const zx = join(project, 'node_modules', 'zx', 'build', 'cli.js');
    // The warm-up run creates the stand-in cluster and renders the chart; the measured runs change nothing.
    const up = medianOf(process.execPath, [zx, 'scripts/up.mjs', '--no-verify'], { HOME: process.env.HOME, ...tools.env });
    console.log(`  node loading cdk8s + cdk8s-plus-27   ${load.toFixed(3)} s`);
    console.log(`  npm run synth                        ${synth.toFixed(3)} s   ${(synth / load).toFixed(2)}× the load   target ≤ ${SYNTH_TARGET.toFixed(1)}×: ${verdict(synth / load <= SYNTH_TARGET)}`);
    console.log(`  no-op up (instant stand-in tools)    ${up.toFixed(3)} s   ${(up / load).toFixed(2)}× the load   target ≤ ${UP_TARGET_SECONDS.toFixed(1)} s: ${verdict(up <= UP_TARGET_SECONDS)}`);
    console.log();
    if (sizes) {
      console.log(chalk.bold(`no-op synth by fleet size (identities with rules of their own, median of ${runs} runs)`));
      const total = sizes.length + 2;
      const measured = progressLine({ what: 'measured', everyMs: Infinity });
      let step = 0;
      const fleet = measureFleetSynth(scratch, sizes, runs, timed, () => measured(step++, total));
      measured(total, total);
      console.log(`  default configuration (2 identities) ${fleet.baseSeconds.toFixed(3)} s`);
      for (const row of fleet.rows) {
        console.log(`  ${String(row.identities).padStart(5)} identities              ${row.seconds.toFixed(3)} s   ` +
          `${row.perIdentityMs.toFixed(2)} ms per identity   ${row.marginalMs.toFixed(2)} ms each since the size before`);
      }
      console.log();
    }
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }

  const certs = runChild([join(SCRIPTS, 'bench-certs.mjs'), `--runs=${runs}`]);
  const suite = runChild(['--require', join(SCRIPTS, 'lib', 'ts-hook.cjs'), join(SCRIPTS, '..', 'test', 'bench', 'suite-phases.ts')]);
  process.exitCode = certs || suite;
}, args);
