// Step-by-step execution for the deploy scripts: one progress line per step, every command shown
// as the user could type it, and on failure the step, the command and the tool's own stderr —
// then the script stops, so no later step runs on top of a broken one.
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import process from 'node:process';
import { chalk, path, spinner, which } from 'zx';
import { requireLib } from './project.mjs';

const { ReportedError, StepFailure, UserError } = requireLib('util/errors');
const { runCli, scriptArgs } = requireLib('util/cli');

export { StepFailure };
const { runCommand } = requireLib('deploy/run-command');
const { commandLimit, commandEnvironment } = requireLib('deploy/command-limits');

const SAFE_WORD = /^[\w@%+=:,./-]+$/;

/** A command line as a user would type it. @type {(command: string, args?: readonly string[]) => string} */
export const shown = (command, args = []) =>
  [command, ...args].map((word) => (SAFE_WORD.test(word) ? word : `'${String(word).replaceAll("'", "'\\''")}'`)).join(' ');

/**
 * Runs a command with no stdin, within its time limit (lib/deploy/command-limits.ts) and with the
 * environment that tool needs (with `home`, a folder for its own state); resolves to
 * lib/deploy/run-command.ts's result.
 * @param {string} command
 * @param {readonly string[]} args
 * @param {{ cwd: string, home?: string }} where
 */
function bounded(command, args, { cwd, home }) {
  const { seconds } = commandLimit(command, args);
  return runCommand(command, args, { cwd, env: commandEnvironment(command, process.env, home), timeoutMs: seconds * 1000 });
}

/** The output a failed command left, for the user: its stderr, else its stdout. */
const outputOf = (result) => result.error?.message ?? (result.stderr.trim() || result.stdout.trim());

/**
 * Runs a command and returns its stdout; throws a StepFailure naming it when it fails or runs out
 * of time (then saying what to check).
 * @param {string} command
 * @param {readonly string[]} args
 * @param {{ cwd: string, home?: string, display: string }} options
 */
async function exec(command, args, { cwd, home, display }) {
  const result = await bounded(command, args, { cwd, home });
  if (result.timedOut) {
    const { seconds, check } = commandLimit(command, args);
    throw new StepFailure(`did not finish within ${seconds} s and was stopped`, { command: display, output: outputOf(result), hint: check });
  }
  if (result.code !== 0) {
    const how = result.code === null ? `was ended by ${result.signal ?? 'an error'}` : `exited with code ${result.code}`;
    throw new StepFailure(how, { command: display, output: outputOf(result) });
  }
  return result.stdout;
}

/**
 * @param {{ dryRun: boolean, cwd: string }} options In a dry run, commands that change something are
 *   printed instead of run; read-only probes still run so the plan reflects the machine.
 */
export function runbook({ dryRun, cwd }) {
  const log = (line = '') => console.log(line);

  return {
    dryRun,
    log,

    /**
     * Runs a command that changes something; in a dry run only prints it and returns undefined.
     * It runs at the project root, or with `inScratchDir` in a new empty folder removed afterwards
     * (for a tool that would pick up files from its working directory), with a home for its state
     * beside that folder, removed with it.
     */
    async run(command, args, { display = shown(command, args), inScratchDir = false } = {}) {
      if (dryRun) {
        log(chalk.dim(`    would run: ${display}`));
        return undefined;
      }
      if (!inScratchDir) return exec(command, args, { cwd, display });
      const scratch = await mkdtemp(path.join(tmpdir(), 'k3s-nats-tls-'));
      try {
        const work = path.join(scratch, 'work');
        await mkdir(work);
        return await exec(command, args, { cwd: work, home: path.join(scratch, 'home'), display });
      } finally {
        await rm(scratch, { recursive: true, force: true });
      }
    },

    /** Runs a read-only command, also in a dry run. */
    probe: (command, args, { display = shown(command, args) } = {}) => exec(command, args, { cwd, display }),

    /**
     * Runs a read-only command whose exit code is an answer (kubectl diff: 1 means "differs"), also
     * in a dry run; only running out of time throws.
     */
    async probeExit(command, args, { display = shown(command, args) } = {}) {
      const result = await bounded(command, args, { cwd });
      if (result.timedOut || result.code === null) {
        const { seconds, check } = commandLimit(command, args);
        const how = result.timedOut ? `did not finish within ${seconds} s and was stopped` : `was ended by ${result.signal ?? 'an error'}`;
        throw new StepFailure(how, { command: display, output: outputOf(result), hint: result.timedOut ? check : undefined });
      }
      return { code: result.code, stdout: result.stdout, stderr: result.stderr, output: outputOf(result) };
    },

    /** Says what a dry run would do that is not a command (writing a file). */
    would(what) {
      if (dryRun) log(chalk.dim(`    would ${what}`));
    },

    /**
     * Runs one step. `body` returns a short result for the progress line. A failure prints the
     * step, the command and the tool's output; the script then ends with exit code 1 (lib/util/cli.ts).
     */
    async step(title, body) {
      try {
        const detail = process.stdout.isTTY && !dryRun ? await spinner(title, body) : await body();
        log(`${chalk.green('✔')} ${title}${detail ? chalk.dim(` — ${detail}`) : ''}`);
      } catch (caught) {
        const error = /** @type {Error & { command?: string, output?: string, hint?: string }} */ (caught);
        console.error(`${chalk.red('✖')} ${title} failed: ${error.message}`);
        if (error.command) console.error(`  command: ${error.command}`);
        if (error.output) console.error(error.output.replace(/^/gm, '  │ '));
        if (error.hint) console.error(`  ${error.hint.replace(/\n/g, '\n  ')}`);
        if (!(error instanceof StepFailure) && !(error instanceof UserError)) console.error(error.stack);
        throw new ReportedError(`${title} failed`);
      }
    },
  };
}

/**
 * Fails unless kubectl knows `context`: a typo in --context must stop before anything is deployed or
 * deleted. `hint` says how to get the context.
 */
export async function checkContext(probe, context, hint = 'check the name given to --context, or point KUBECONFIG at the file that holds it') {
  const known = (await probe('kubectl', ['config', 'get-contexts', '-o', 'name'])).split('\n').map((line) => line.trim()).filter(Boolean);
  if (!known.includes(context)) {
    throw new StepFailure(`kubectl has no context '${context}' (it knows: ${known.join(', ') || 'none'})`, { hint });
  }
}

/**
 * Checks every tool before anything runs: a missing one and one whose probe fails (docker without an
 * engine) are all reported together, each with what to do, so one run lists everything to fix.
 */
export async function preflight(tools, { cwd }) {
  const problems = [];
  for (const { tool, probe, missingHint, brokenHint, outputProblem } of tools) {
    if (!(await which(tool, { nothrow: true }))) {
      problems.push(`${tool}: not found on PATH — ${missingHint}`);
      continue;
    }
    const result = await bounded(tool, probe, { cwd });
    if (result.timedOut) {
      problems.push(`${tool}: \`${shown(tool, probe)}\` did not answer within ${commandLimit(tool, probe).seconds} s — ${brokenHint}`);
    } else if (result.code !== 0) {
      const why = outputOf(result).split('\n')[0];
      problems.push(`${tool}: \`${shown(tool, probe)}\` failed${why ? ` (${why})` : ''} — ${brokenHint}`);
    } else {
      const problem = outputProblem?.(result.stdout);
      if (problem) problems.push(`${tool}: ${problem}`);
    }
  }
  if (problems.length) {
    const which = problems.length === 1 ? 'a required tool is' : `${problems.length} required tools are`;
    throw new StepFailure(`${which} missing or not working:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
  }
  return tools.map(({ tool }) => tool).join(', ');
}

/**
 * The deploy scripts' start and end: the shared command line (lib/util/cli.ts: flags, --help, exit
 * codes), then `body` with a runbook at the project root, whatever the current directory. Without
 * `--context` the scripts manage a k3d cluster; with it, an existing kubectl context.
 */
export async function deployScript(scriptPath, spec, body) {
  const root = path.resolve(import.meta.dirname, '..', '..');
  await runCli(spec, (flags) => body({
    root,
    flags,
    namedContext: flags.context,
    useK3d: flags.context === undefined,
    rel: (file) => path.relative(root, file),
    ...runbook({ dryRun: flags['dry-run'] === true, cwd: root }),
  }), scriptArgs(scriptPath));
}
