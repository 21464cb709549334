import { spawn } from 'node:child_process';
import { dirname } from 'node:path';
import { signal, track } from './child-processes';
import { natsCliBin } from './tools';

/**
 * Runs command lines as a user pastes them into a shell — `nats -s … pub say hi`, `nats --context …
 * sub demo` — with the real `nats` CLI (test/tools/.bin/nats) as the only program on PATH. The
 * environment holds PATH, HOME and XDG_CONFIG_HOME alone, both homes the test's own folder, so the CLI
 * reads none of the user's contexts (not even their selected one, which it would apply to a
 * command without --context) and no NATS_* variable. No stdin; each line runs in a process group
 * of its own, stopped when its time is up, by stop(), or when the test file ends (child-processes.ts).
 */

export interface CliResult {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  /** stdout and stderr as they came. */
  readonly output: string;
  readonly timedOut: boolean;
}

export interface RunningCli {
  /** Everything printed so far. */
  output(): string;
  /** Resolves with the match once the output shows `pattern`; rejects when the line ends or `timeoutMs` passes first. */
  waitFor(pattern: RegExp, timeoutMs: number): Promise<string>;
  /** Resolves when the line has ended: by itself, at its time limit or by stop(). */
  readonly result: Promise<CliResult>;
  stop(): Promise<CliResult>;
}

export interface CliOptions {
  /** Where relative paths in the line resolve: the project folder the user runs it from. */
  readonly cwd: string;
  /** HOME and XDG_CONFIG_HOME. */
  readonly home: string;
  readonly timeoutMs: number;
}

/** Starts `line` under /bin/sh; it is stopped (SIGTERM, then SIGKILL) once `timeoutMs` has passed. */
export function startCli(line: string, options: CliOptions): RunningCli {
  const env = { PATH: dirname(natsCliBin()), HOME: options.home, XDG_CONFIG_HOME: options.home };
  const child = track(spawn('/bin/sh', ['-c', line], { cwd: options.cwd, env, stdio: ['ignore', 'pipe', 'pipe'], detached: true }), { group: true });
  let output = '';
  let timedOut = false;
  const onData = (chunk: Buffer) => { output += chunk.toString('utf8'); };
  child.stdout.on('data', onData);
  child.stderr.on('data', onData);

  const timers: NodeJS.Timeout[] = [];
  let ended = false;
  const terminate = () => {
    signal(child, 'SIGTERM');
    timers.push(setTimeout(() => signal(child, 'SIGKILL'), 2000));
  };
  timers.push(setTimeout(() => {
    timedOut = true;
    terminate();
  }, options.timeoutMs));
  const result = new Promise<CliResult>((resolve) => {
    const done = (code: number | null, by: NodeJS.Signals | null) => {
      ended = true;
      timers.forEach(clearTimeout);
      resolve({ code, signal: by, output, timedOut });
    };
    child.once('error', (error) => {
      output += `${error.message}\n`;
      done(null, null);
    });
    child.once('close', done);
  });

  return {
    output: () => output,
    result,
    waitFor: async (pattern, timeoutMs) => {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const match = pattern.exec(output);
        if (match) return match[0];
        if (ended || Date.now() > deadline) {
          throw new Error(`${line}: printed nothing matching ${pattern} ${ended ? 'before it ended' : `within ${timeoutMs} ms`}:\n${output}`);
        }
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    },
    stop: () => {
      terminate();
      return result;
    },
  };
}

/** Runs `line` to its end (see startCli). */
export const runCli = (line: string, options: CliOptions): Promise<CliResult> => startCli(line, options).result;
