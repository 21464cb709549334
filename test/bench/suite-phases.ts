import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join, resolve } from 'node:path';
import { CHECKS } from '../support/unit-phases';

/**
 * `npm run bench`'s line for the suite itself: the phases of `npm run test:unit` — the type check,
 * the linter, jest — each run once in this checkout (they write nothing into it), timed by the wall
 * clock and by the CPU they and their children used, which a busy machine inflates far less. Then
 * the slowest test files by jest's own durations. It prints and asserts nothing.
 */

const ROOT = resolve(__dirname, '..', '..');
/** The whole suite on a busy 2-core machine takes minutes; an hour means a phase is stuck. */
const PHASE_LIMIT_MS = 3600_000;
const SLOWEST_FILES = 5;

export interface PhaseTime {
  readonly phase: string;
  readonly wallSeconds: number;
  /** User plus system time of the phase's processes; undefined where /proc does not tell (not Linux). */
  readonly cpuSeconds?: number;
}

/** The CPU seconds of this process's children that have ended, from /proc (Linux). */
function childrenCpuSeconds(): number | undefined {
  if (!existsSync('/proc/self/stat')) return undefined;
  const stat = readFileSync('/proc/self/stat', 'utf8');
  // Fields after the command name, which may hold spaces: cutime and cstime are the 16th and 17th fields.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const ticksPerSecond = 100; // USER_HZ, which Linux fixes at 100 for /proc
  return (Number(fields[13]) + Number(fields[14])) / ticksPerSecond;
}

/** Runs one phase to its end without stdin; a failing phase throws with its output's tail. */
export function timePhase(phase: string, command: string, args: readonly string[]): PhaseTime {
  const cpuBefore = childrenCpuSeconds();
  const start = process.hrtime.bigint();
  const run = spawnSync(command, args, {
    cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'], encoding: 'utf8', timeout: PHASE_LIMIT_MS, killSignal: 'SIGKILL', maxBuffer: 64 * 1024 * 1024,
  });
  const wallSeconds = Number(process.hrtime.bigint() - start) / 1e9;
  if (run.error) throw new Error(`${phase}: ${command} ${args.join(' ')}: ${run.error.message}`);
  if (run.status !== 0) throw new Error(`${phase} failed (exit ${run.status ?? run.signal}):\n${`${run.stdout}${run.stderr}`.slice(-4000)}`);
  const cpuAfter = childrenCpuSeconds();
  return { phase, wallSeconds, cpuSeconds: cpuBefore === undefined || cpuAfter === undefined ? undefined : cpuAfter - cpuBefore };
}

/** What `jest --json` writes of each test file (its formatTestResults): the file and its start and end in ms since the epoch. */
interface JestReport {
  readonly testResults: readonly { readonly name: string; readonly startTime: number; readonly endTime: number }[];
}

/** Each test file's wall time as jest measured it, slowest first. */
const fileDurations = (report: JestReport): { file: string; seconds: number }[] =>
  report.testResults
    .map((result) => ({ file: basename(result.name), seconds: (result.endTime - result.startTime) / 1000 }))
    .sort((a, b) => b.seconds - a.seconds);

const npmScript = (name: string): [string, string[]] => [process.platform === 'win32' ? 'npm.cmd' : 'npm', ['run', '-s', name]];

function main(): void {
  const scratch = mkdtempSync(join(tmpdir(), 'k3s-nats-tls-suite-phases-'));
  try {
    const reportFile = join(scratch, 'jest.json');
    // One after the other, unlike npm run test:unit, so that each phase's time is its own.
    const phases = [
      ...CHECKS.map((check) => timePhase(check, ...npmScript(check))),
      timePhase('jest', process.execPath, [require.resolve('jest/bin/jest'), '--json', `--outputFile=${reportFile}`]),
    ];
    const cpu = (time: PhaseTime) => (time.cpuSeconds === undefined ? '' : `   cpu ${time.cpuSeconds.toFixed(1).padStart(6)} s`);
    console.log(`suite phases (npm run test:unit, one run each, ${process.version})`);
    for (const time of phases) console.log(`  ${time.phase.padEnd(10)} wall ${time.wallSeconds.toFixed(1).padStart(6)} s${cpu(time)}`);
    const total: PhaseTime = {
      phase: 'total',
      wallSeconds: phases.reduce((sum, time) => sum + time.wallSeconds, 0),
      cpuSeconds: phases.every((time) => time.cpuSeconds !== undefined) ? phases.reduce((sum, time) => sum + time.cpuSeconds!, 0) : undefined,
    };
    console.log(`  ${total.phase.padEnd(10)} wall ${total.wallSeconds.toFixed(1).padStart(6)} s${cpu(total)}`);
    const slowest = fileDurations(JSON.parse(readFileSync(reportFile, 'utf8')) as JestReport).slice(0, SLOWEST_FILES);
    console.log(`  slowest test files: ${slowest.map(({ file, seconds }) => `${file} ${seconds.toFixed(1)} s`).join(', ')}`);
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}

if (require.main === module) {
  try {
    main();
  } catch (error) {
    console.error(`✖ suite phases: ${(error as Error).message}`);
    process.exitCode = 1;
  }
}
