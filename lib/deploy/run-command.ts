import { $, type ProcessPromise } from 'zx';

/**
 * Runs one external command for the driver so that it can never hang it, on zx's `$`: no stdin (a
 * tool that asks for a password reads end-of-file and fails instead of waiting for an answer nobody
 * can type), its own process group (`detached`), its output collected and not echoed (`quiet`), and
 * the exit code returned rather than thrown (`nothrow`): the callers read it.
 *
 * What zx 8 cannot do is kept here, with the reason:
 * - The time limit. zx's `timeout` sends one signal and leaves no mark on the result that it fired;
 *   a tool gets SIGTERM first, so that it can clean up (k3d rolls back a half-made cluster), then
 *   SIGKILL after a grace period, and the caller is told the command ran out of time.
 * - Killing the group. zx's `kill` first lists the process tree with `ps` and signals the group only
 *   once that list is back: on a machine without procps (slim container images) it signals nothing.
 *   Here the whole group gets the signal directly — the tool and anything it started, which might
 *   otherwise hold its output open.
 * - Ctrl-C. In its own group a command no longer gets the terminal's signal: while commands run,
 *   SIGINT, SIGTERM and SIGHUP to this process stop them too, then end this process as they would have.
 * - Output held by a process that left the group (setsid): after SIGKILL, the pipes are let go.
 */

export interface RunOptions {
  readonly cwd?: string;
  readonly env?: NodeJS.ProcessEnv;
  readonly timeoutMs: number;
  /** Between SIGTERM and SIGKILL, so that a tool can clean up (k3d rolls back a half-made cluster). */
  readonly killGraceMs?: number;
}

export interface RunResult {
  /** null when the command was killed by a signal. */
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
  readonly timedOut: boolean;
  /** Set when the command could not be started at all (its shell missing). */
  readonly error?: Error;
}

const SAFE_WORD = /^[\w@%+=:,./-]+$/;

/** One word for a POSIX shell, quoted only when it needs to be: how commands run, and how they are shown. */
export const shellWord = (word: string): string => (SAFE_WORD.test(word) ? word : `'${word.replaceAll("'", "'\\''")}'`);

/**
 * zx's own choice of shell is bash, found on PATH when zx loads, with bash's quoting and `set -o
 * pipefail`: a PATH without bash (the tests' stand-in tools, a slim image) leaves it none. Every
 * command here is one program and its words, so /bin/sh with POSIX quoting runs it anywhere, and
 * `exec` has the program take the shell's place: the signals and the exit status are its own.
 */
const SHELL = { shell: '/bin/sh', quote: shellWord, prefix: 'exec ', postfix: '' } as const;

const FORWARDED_SIGNALS: readonly NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];
const running = new Set<ProcessPromise>();

function killGroup(command: ProcessPromise, signal: NodeJS.Signals): void {
  const { pid } = command;
  if (pid === undefined) return;
  try {
    process.kill(-pid, signal);
  } catch {
    // The group is already gone.
  }
}

/**
 * Stops the running commands the way a timeout does, then ends this process by `signal`. SIGTERM
 * rather than the signal received: a shell's background jobs ignore SIGINT.
 */
function forwardSignal(signal: NodeJS.Signals): void {
  for (const command of running) killGroup(command, 'SIGTERM');
  forwarding(false);
  // With our listener gone, the signal's default action ends this process as it would have.
  process.kill(process.pid, signal);
}

function forwarding(on: boolean): void {
  for (const signal of FORWARDED_SIGNALS) {
    if (on) process.on(signal, forwardSignal);
    else process.removeListener(signal, forwardSignal);
  }
}

/**
 * The listeners go on before the command starts: a signal that arrives meanwhile finds it in the
 * set (zx spawns on a later tick), instead of ending this process and leaving the command behind.
 */
function track(command: ProcessPromise): void {
  if (running.size === 0) forwarding(true);
  running.add(command);
}

function untrack(command: ProcessPromise): void {
  running.delete(command);
  if (running.size === 0) forwarding(false);
}

export async function runCommand(command: string, args: readonly string[], options: RunOptions): Promise<RunResult> {
  const { cwd, env, timeoutMs, killGraceMs = 5000 } = options;
  const child = $({ ...SHELL, cwd, env, stdio: ['ignore', 'pipe', 'pipe'], detached: true, nothrow: true, quiet: true, verbose: false })`${command} ${args}`;
  track(child);
  let timedOut = false;
  const timers: NodeJS.Timeout[] = [];
  timers.push(setTimeout(() => {
    timedOut = true;
    killGroup(child, 'SIGTERM');
    timers.push(setTimeout(() => {
      killGroup(child, 'SIGKILL');
      timers.push(setTimeout(() => {
        child.stdout.destroy();
        child.stderr.destroy();
      }, killGraceMs));
    }, killGraceMs));
  }, timeoutMs));
  try {
    const output = await child;
    return {
      code: output.exitCode, signal: output.signal, stdout: output.stdout, stderr: output.stderr, timedOut,
      ...(output.cause ? { error: output.cause } : {}),
    };
  } finally {
    timers.forEach(clearTimeout);
    untrack(child);
  }
}
