import { spawn, type ChildProcess } from 'node:child_process';

/**
 * Runs one external command for the deploy scripts so that it can never hang them: it gets no
 * stdin (a tool that asks for a password reads end-of-file and fails instead of waiting for an
 * answer nobody can type), and it runs in its own process group with a time limit, so that on
 * expiry the whole group is stopped — the tool and anything it started, which might otherwise
 * hold its output open. While a command runs, Ctrl-C (or a SIGTERM/SIGHUP) stops it too: in its
 * own group it no longer gets the terminal's signal by itself.
 */

export interface RunOptions {
  readonly cwd?: string;
  readonly env?: NodeJS.ProcessEnv;
  readonly timeoutMs: number;
  /** Between SIGTERM and SIGKILL, so that a tool can clean up (k3d rolls back a half-made cluster). */
  readonly killGraceMs?: number;
}

export interface RunResult {
  /** null when the command was killed by a signal or could not be started. */
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
  readonly timedOut: boolean;
  /** Set when the command could not be started (e.g. ENOENT). */
  readonly error?: Error;
}

const FORWARDED_SIGNALS: readonly NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];
const running = new Set<ChildProcess>();

function killGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  if (child.pid === undefined) return;
  try {
    process.kill(-child.pid, signal);
  } catch {
    // The group is already gone.
  }
}

/**
 * Stops the running commands the way a timeout does, then ends this process by `signal`. SIGTERM
 * rather than the signal received: a shell's background jobs ignore SIGINT.
 */
function forwardSignal(signal: NodeJS.Signals): void {
  for (const child of running) killGroup(child, 'SIGTERM');
  for (const each of FORWARDED_SIGNALS) process.removeListener(each, forwardSignal);
  // With our listener gone, the signal's default action ends this process as it would have.
  process.kill(process.pid, signal);
}

const forwarding = (on: boolean): void => {
  for (const signal of FORWARDED_SIGNALS) {
    if (on) process.on(signal, forwardSignal);
    else process.removeListener(signal, forwardSignal);
  }
};

/**
 * Starts a child with the signals forwarded. The listeners go on before the spawn: a signal that
 * arrives while the child starts then waits for this synchronous block and finds the child in the
 * set, instead of ending this process by the default action and leaving the child behind.
 */
function startTracked(start: () => ChildProcess): ChildProcess {
  if (running.size === 0) forwarding(true);
  try {
    const child = start();
    running.add(child);
    return child;
  } finally {
    if (running.size === 0) forwarding(false);
  }
}

function untrack(child: ChildProcess): void {
  running.delete(child);
  if (running.size === 0) forwarding(false);
}

export function runCommand(command: string, args: readonly string[], options: RunOptions): Promise<RunResult> {
  const { cwd, env, timeoutMs, killGraceMs = 5000 } = options;
  return new Promise((resolve) => {
    const child = startTracked(() => spawn(command, args, { cwd, env, stdio: ['ignore', 'pipe', 'pipe'], detached: true }));
    let stdout = '';
    let stderr = '';
    let timedOut = false;
    let settled = false;
    child.stdout!.setEncoding('utf8').on('data', (chunk: string) => { stdout += chunk; });
    child.stderr!.setEncoding('utf8').on('data', (chunk: string) => { stderr += chunk; });

    const timers: NodeJS.Timeout[] = [];
    const finish = (result: Omit<RunResult, 'stdout' | 'stderr' | 'timedOut'>): void => {
      if (settled) return;
      settled = true;
      timers.forEach(clearTimeout);
      untrack(child);
      resolve({ ...result, stdout, stderr, timedOut });
    };

    timers.push(setTimeout(() => {
      timedOut = true;
      killGroup(child, 'SIGTERM');
      timers.push(setTimeout(() => {
        killGroup(child, 'SIGKILL');
        // A process that left the group (setsid) may still hold the pipes: stop waiting for them.
        timers.push(setTimeout(() => {
          child.stdout!.destroy();
          child.stderr!.destroy();
          finish({ code: child.exitCode, signal: child.signalCode });
        }, killGraceMs));
      }, killGraceMs));
    }, timeoutMs));

    child.on('error', (error) => finish({ code: null, signal: null, error }));
    child.on('close', (code, signal) => finish({ code, signal }));
  });
}
