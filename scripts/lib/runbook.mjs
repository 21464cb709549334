// Step-by-step execution for the deploy scripts: one progress line per step, every command shown
// as the user could type it, and on failure the step, the command and the tool's own stderr —
// then the script stops, so no later step runs on top of a broken one.
import process from 'node:process';
import { $, argv, chalk, path, spinner, which } from 'zx';
import { requireLib } from './project.mjs';

const { UserError } = requireLib('errors');

const SAFE_WORD = /^[\w@%+=:,./-]+$/;

/** A command line as a user would type it. */
export const shown = (command, args = []) =>
  [command, ...args].map((word) => (SAFE_WORD.test(word) ? word : `'${String(word).replaceAll("'", "'\\''")}'`)).join(' ');

/** A step failed in a way the user can act on; `command` and `output` say where and why. */
export class StepFailure extends Error {
  constructor(message, { command, output, hint } = {}) {
    super(message);
    this.command = command;
    this.output = output;
    this.hint = hint;
  }
}

/**
 * @param {{ dryRun: boolean, cwd: string }} options In a dry run, commands that change something are
 *   printed instead of run; read-only probes still run so the plan reflects the machine.
 */
export function runbook({ dryRun, cwd }) {
  const log = (line = '') => console.log(line);

  /** Runs a command and returns its stdout; throws a StepFailure naming it on a non-zero exit. */
  async function exec(command, args, display) {
    const result = await $({ cwd, quiet: true, nothrow: true })`${command} ${args}`;
    if (result.exitCode !== 0) {
      throw new StepFailure(`exited with code ${result.exitCode}`, {
        command: display, output: (result.stderr.trim() || result.stdout.trim()),
      });
    }
    return result.stdout;
  }

  return {
    dryRun,
    log,

    /** Runs a command that changes something; in a dry run only prints it and returns undefined. */
    async run(command, args, { display = shown(command, args) } = {}) {
      if (dryRun) {
        log(chalk.dim(`    would run: ${display}`));
        return undefined;
      }
      return exec(command, args, display);
    },

    /** Runs a read-only command, also in a dry run. */
    probe: (command, args, { display = shown(command, args) } = {}) => exec(command, args, display),

    /** Says what a dry run would do that is not a command (writing a file). */
    would(what) {
      if (dryRun) log(chalk.dim(`    would ${what}`));
    },

    /**
     * Runs one step. `body` returns a short result for the progress line. A failure prints the
     * step, the command and the tool's output, and ends the script with exit code 1.
     */
    async step(title, body) {
      try {
        const detail = process.stdout.isTTY && !dryRun ? await spinner(title, body) : await body();
        log(`${chalk.green('✔')} ${title}${detail ? chalk.dim(` — ${detail}`) : ''}`);
      } catch (error) {
        console.error(`${chalk.red('✖')} ${title} failed: ${error.message}`);
        if (error.command) console.error(`  command: ${error.command}`);
        if (error.output) console.error(error.output.replace(/^/gm, '  │ '));
        if (error.hint) console.error(`  ${error.hint.replace(/\n/g, '\n  ')}`);
        if (!(error instanceof StepFailure) && !(error instanceof UserError)) console.error(error.stack);
        process.exit(1);
      }
    },
  };
}

/** Fails unless kubectl knows `context`: a typo in --context must stop before anything is deployed or deleted. */
export async function checkContext(probe, context) {
  const known = (await probe('kubectl', ['config', 'get-contexts', '-o', 'name'])).split('\n').map((line) => line.trim()).filter(Boolean);
  if (!known.includes(context)) {
    throw new StepFailure(`kubectl has no context '${context}' (it knows: ${known.join(', ') || 'none'})`, {
      hint: 'check the name given to --context, or point KUBECONFIG at the file that holds it',
    });
  }
}

/**
 * Checks every tool before anything runs: a missing one and one whose probe fails (docker without an
 * engine) are all reported together, each with what to do, so one run lists everything to fix.
 */
export async function preflight(tools, { cwd }) {
  const problems = [];
  for (const { tool, probe, missingHint, brokenHint } of tools) {
    if (!(await which(tool, { nothrow: true }))) {
      problems.push(`${tool}: not found on PATH — ${missingHint}`);
      continue;
    }
    const result = await $({ cwd, quiet: true, nothrow: true })`${tool} ${probe}`;
    if (result.exitCode !== 0) {
      const why = (result.stderr.trim() || result.stdout.trim()).split('\n')[0];
      problems.push(`${tool}: \`${shown(tool, probe)}\` failed${why ? ` (${why})` : ''} — ${brokenHint}`);
    }
  }
  if (problems.length) {
    throw new StepFailure(`${problems.length === 1 ? 'a required tool is' : `${problems.length} required tools are`} missing or not working:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
  }
  return tools.map(({ tool }) => tool).join(', ');
}

/**
 * Checks zx's `argv` (minimist) against the flags a script knows: an unknown or misspelt flag stops
 * the script before anything runs, since a silently ignored `--dry-rn` would deploy for real.
 * `negatable` flags come as `--no-<flag>`; `strings` need a value; `counts` need a whole number above 0.
 */
export function checkFlags(argv, { booleans = [], negatable = [], strings = [], counts = [], usage }) {
  const problems = [];
  for (const [key, value] of Object.entries(argv)) {
    if (key === '_' || key === '--') continue;
    if (strings.includes(key)) {
      if (typeof value !== 'string' || value === '') problems.push(`--${key} needs a value`);
    } else if (counts.includes(key)) {
      if (!Number.isInteger(value) || value < 1) problems.push(`--${key} needs a whole number above 0`);
    } else if (booleans.includes(key) || negatable.includes(key)) {
      if (typeof value !== 'boolean') problems.push(`--${key} takes no value`);
    } else {
      problems.push(`unknown flag --${key}`);
    }
  }
  if (argv._?.length) problems.push(`unexpected argument(s): ${argv._.join(' ')}`);
  if (problems.length) {
    console.error(`${chalk.red('✖')} ${problems.join('; ')}\n\n${usage}`);
    process.exit(2);
  }
}

/**
 * The common start of the deploy scripts: checks the flags (or prints `usage` for --help) and sets
 * up the runbook at the project root, whatever the current directory. Without `--context` the
 * scripts manage a k3d cluster; with it, an existing kubectl context.
 */
export function deployScript({ usage, flags }) {
  checkFlags(argv, { ...flags, usage });
  if (argv.help) {
    console.log(usage);
    process.exit(0);
  }
  const root = path.resolve(import.meta.dirname, '..', '..');
  return {
    root,
    namedContext: argv.context,
    useK3d: argv.context === undefined,
    rel: (file) => path.relative(root, file),
    ...runbook({ dryRun: argv['dry-run'] === true, cwd: root }),
  };
}
