import type { ChildProcess } from 'node:child_process';

/**
 * Every long-running program a test helper starts — each nats-server, each `nats` CLI line — so that
 * none outlives its test file. The helpers' own stop() is the normal way; after the file's last
 * hook, the test environment (test/support/node-environment.ts) stops what a failing test left
 * behind: a server started beside one that failed in the same Promise.all, a subscriber whose
 * stop() a failed expectation never reached. The registry lives on the test file's global object,
 * where the environment, which runs outside the file's module registry, finds it.
 */

interface Tracked {
  readonly child: ChildProcess;
  /** Started detached: signal its whole process group (a shell and the program it runs). */
  readonly group: boolean;
}

const REGISTRY = 'k3sNatsTlsChildProcesses';

type Scope = Record<string, unknown>;

const registry = (scope: Scope = globalThis): Map<ChildProcess, Tracked> =>
  (scope[REGISTRY] ??= new Map<ChildProcess, Tracked>()) as Map<ChildProcess, Tracked>;

const ended = (child: ChildProcess): boolean => child.exitCode !== null || child.signalCode !== null;

/** Registers `child` until it exits. */
export function track<T extends ChildProcess>(child: T, options: { group?: boolean } = {}): T {
  const live = registry();
  live.set(child, { child, group: options.group ?? false });
  const forget = () => live.delete(child);
  child.once('exit', forget);
  child.once('error', forget);
  return child;
}

/** Signals `child` (its process group when tracked as one) unless it has ended: its pid may be another process's by then. */
export function signal(child: ChildProcess, name: NodeJS.Signals, scope?: Scope): void {
  if (ended(child) || child.pid === undefined) return;
  try {
    if (registry(scope).get(child)?.group) process.kill(-child.pid, name);
    else child.kill(name);
  } catch {
    // It ended in between.
  }
}

/** The programs still running. */
export const tracked = (scope?: Scope): ChildProcess[] => [...registry(scope).keys()];

/** SIGKILLs every program still running in `scope` (a test file's global object) and resolves once each has exited. */
export async function stopTracked(scope?: Scope): Promise<void> {
  await Promise.all(tracked(scope).map((child) => new Promise<void>((resolve) => {
    if (ended(child)) return resolve();
    child.once('exit', () => resolve());
    signal(child, 'SIGKILL', scope);
  })));
}
