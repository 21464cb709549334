import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative, resolve } from 'node:path';
import { chalk, spinner } from 'zx';
import { commandEnvironment, commandLimit } from '../deploy/command-limits';
import { runCommand, shellWord, type RunResult } from '../deploy/run-command';
import { runCli, scriptArgs, type CommandSpec, type ParsedFlags } from '../util/cli';
import { ReportedError, StepFailure, UserError } from '../util/errors';

/**
 * Step-by-step execution for the deploy commands: one progress line per step, every command shown
 * as the user could type it, and on failure the step, the command and the tool's own stderr — then
 * the command stops, so no later step runs on top of a broken one.
 */

/** A command line as a user would type it. */
export const shown = (command: string, args: readonly string[] = []): string => [command, ...args].map(shellWord).join(' ');

/** The project: the folder the scripts live in, whatever the current directory. */
export const PROJECT_ROOT = resolve(__dirname, '..', '..');

/**
 * Runs a command with no stdin, within its time limit (lib/deploy/command-limits.ts) and with the
 * environment that tool needs (with `home`, a folder for its own state).
 */
export function bounded(command: string, args: readonly string[], { cwd, home }: { cwd: string; home?: string }): Promise<RunResult> {
  const { seconds } = commandLimit(command, args, process.env);
  return runCommand(command, args, { cwd, env: commandEnvironment(command, process.env, home), timeoutMs: seconds * 1000 });
}

/** The output a failed command left, for the user: its stderr, else its stdout. */
export const outputOf = (result: RunResult): string => result.error?.message ?? (result.stderr.trim() || result.stdout.trim());

/** Returns stdout; throws a StepFailure naming the command when it fails or runs out of time (then saying what to check). */
async function exec(
  command: string, args: readonly string[], { cwd, home, display }: { cwd: string; home?: string; display: string },
): Promise<string> {
  const result = await bounded(command, args, { cwd, home });
  if (result.timedOut) {
    const { seconds, check } = commandLimit(command, args, process.env);
    throw new StepFailure(`did not finish within ${seconds} s and was stopped`, { command: display, output: outputOf(result), hint: check });
  }
  if (result.code !== 0) {
    const how = result.code === null ? `was ended by ${result.signal ?? 'an error'}` : `exited with code ${result.code}`;
    throw new StepFailure(how, { command: display, output: outputOf(result) });
  }
  return result.stdout;
}

interface ExitAnswer {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
  /** stderr, else stdout: what to show the user. */
  readonly output: string;
}

export interface Runbook {
  readonly root: string;
  readonly dryRun: boolean;
  readonly log: (line?: string) => void;
  /** A project path as the user sees it: relative to the project. */
  readonly rel: (file: string) => string;
  /**
   * Runs a command that changes something; in a dry run only prints it and returns undefined. It
   * runs at the project root, or with `inScratchDir` in a new empty folder removed afterwards (for a
   * tool that would pick up files from its working directory), with a home for its state beside it.
   */
  readonly run: (command: string, args: readonly string[], options?: { display?: string; inScratchDir?: boolean }) => Promise<string | undefined>;
  /** Runs a read-only command, also in a dry run. */
  readonly probe: (command: string, args: readonly string[]) => Promise<string>;
  /** A read-only command whose exit code is an answer (kubectl diff: 1 means "differs"); only running out of time throws. */
  readonly probeExit: (command: string, args: readonly string[]) => Promise<ExitAnswer>;
  /** Says what a dry run would do that is not a command (writing a file). */
  readonly would: (what: string) => void;
  /**
   * Runs one step. `body` returns what the step produced; `detail` turns it into the short result of
   * the progress line (by default a string result is that line). A failure prints the step, the
   * command and the tool's output; the command then ends with exit code 1 (lib/util/cli.ts).
   */
  readonly step: <T>(title: string, body: () => T | Promise<T>, detail?: (result: T) => string | undefined) => Promise<T>;
}

const asDetail = (result: unknown): string | undefined => (typeof result === 'string' && result !== '' ? result : undefined);

function report(title: string, caught: unknown): never {
  const error = caught as Error & { command?: string; output?: string; hint?: string };
  console.error(`${chalk.red('✖')} ${title} failed: ${error.message}`);
  if (error.command) console.error(`  command: ${error.command}`);
  if (error.output) console.error(error.output.replace(/^/gm, '  │ '));
  if (error.hint) console.error(`  ${error.hint.replace(/\n/g, '\n  ')}`);
  if (!(error instanceof StepFailure) && !(error instanceof UserError)) console.error(error.stack);
  throw new ReportedError(`${title} failed`, { cause: caught });
}

/** In a dry run, commands that change something are printed instead of run; read-only probes still run so the plan reflects the machine. */
export function runbook({ dryRun, root }: { dryRun: boolean; root: string }): Runbook {
  const log = (line = ''): void => console.log(line);
  return {
    root,
    dryRun,
    log,
    rel: (file) => relative(root, file),

    run: async (command, args, { display = shown(command, args), inScratchDir = false } = {}) => {
      if (dryRun) {
        log(chalk.dim(`    would run: ${display}`));
        return undefined;
      }
      if (!inScratchDir) return exec(command, args, { cwd: root, display });
      const scratch = await mkdtemp(join(tmpdir(), 'k3s-nats-tls-'));
      try {
        const work = join(scratch, 'work');
        await mkdir(work);
        return await exec(command, args, { cwd: work, home: join(scratch, 'home'), display });
      } finally {
        await rm(scratch, { recursive: true, force: true });
      }
    },

    probe: (command, args) => exec(command, args, { cwd: root, display: shown(command, args) }),

    probeExit: async (command, args) => {
      const result = await bounded(command, args, { cwd: root });
      if (result.timedOut || result.code === null) {
        const { seconds, check } = commandLimit(command, args, process.env);
        const how = result.timedOut ? `did not finish within ${seconds} s and was stopped` : `was ended by ${result.signal ?? 'an error'}`;
        throw new StepFailure(how, { command: shown(command, args), output: outputOf(result), hint: result.timedOut ? check : undefined });
      }
      return { code: result.code, stdout: result.stdout, stderr: result.stderr, output: outputOf(result) };
    },

    would: (what) => {
      if (dryRun) log(chalk.dim(`    would ${what}`));
    },

    step: async <T>(title: string, body: () => T | Promise<T>, detail: (result: T) => string | undefined = asDetail) => {
      try {
        const result = process.stdout.isTTY && !dryRun ? await spinner(title, body) : await body();
        const line = detail(result);
        log(`${chalk.green('✔')} ${title}${line ? chalk.dim(` — ${line}`) : ''}`);
        return result;
      } catch (caught) {
        return report(title, caught);
      }
    },
  };
}

/** What a deploy command starts with: its flags and a runbook at the project root. */
interface DeployStart {
  readonly flags: ParsedFlags;
  /** `--context`: deploy to (or delete from) this existing kubectl context; k3d and docker are not used. */
  readonly namedContext: string | undefined;
  readonly useK3d: boolean;
  readonly runbook: Runbook;
}

/**
 * The deploy commands' start and end: the shared command line (lib/util/cli.ts: flags, --help, exit
 * codes), then `body` with a runbook at the project root.
 */
export function deployCommand(scriptPath: string, spec: CommandSpec, body: (start: DeployStart) => Promise<void>): Promise<void> {
  return runCli(spec, (flags) => {
    const namedContext = flags.context as string | undefined;
    return body({
      flags,
      namedContext,
      useK3d: namedContext === undefined,
      runbook: runbook({ dryRun: flags['dry-run'] === true, root: PROJECT_ROOT }),
    });
  }, scriptArgs(scriptPath));
}
