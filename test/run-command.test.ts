import { runCommand } from '../lib/deploy/run-command';
import { survivors } from './support/fake-tools';

// lib/deploy/run-command.ts (zx's `$` with the limits zx lacks) against real processes (/bin/sh,
// /bin/sleep): what the driver relies on so that no tool can hang it.

// Each case starts a shell or two; the slowest waits out a 5 s limit (long enough for the shell to
// get going on a loaded machine before it is stopped). Generous for a loaded machine.
jest.setTimeout(60_000);

const sh = (script: string, timeoutMs = 30_000, killGraceMs?: number) => runCommand('/bin/sh', ['-c', script], { timeoutMs, killGraceMs });

describe('runCommand', () => {
  test('returns exit code, stdout and stderr of a command that finishes', async () => {
    const result = await sh('echo out; echo err >&2; exit 3');
    expect(result).toMatchObject({ code: 3, signal: null, stdout: 'out\n', stderr: 'err\n', timedOut: false });
  });

  test('a command reading stdin gets end-of-file at once instead of waiting for input', async () => {
    // GIVEN a command that asks for a username, as kubectl does for a context without credentials
    // WHEN it runs THEN its read fails immediately: nothing holds its stdin open
    const result = await sh('printf "Please enter Username: " >&2; if read -r user; then echo "read $user"; else echo "end of input"; fi');
    expect(result.timedOut).toBe(false);
    expect(result.stdout).toBe('end of input\n');
  });

  test('a command past its limit is stopped with everything it started', async () => {
    // GIVEN a command whose child keeps the output pipe open, as a tool waiting on a server
    const started = Date.now();
    const result = await sh('/bin/sleep 600 & echo $!; wait', 5_000);
    // THEN it is reported as timed out, well before the sleep would end, and the child is gone too
    expect(result.timedOut).toBe(true);
    expect(result.signal).toBe('SIGTERM');
    expect(Date.now() - started).toBeLessThan(30_000);
    const sleeper = Number(result.stdout.trim());
    expect(sleeper).toBeGreaterThan(0);
    expect(await survivors([sleeper])).toEqual([]);
  });

  test('a command that ignores SIGTERM is killed after the grace period', async () => {
    // GIVEN a command that ignores SIGTERM (its sleep inherits that)
    const result = await sh('trap "" TERM; /bin/sleep 600', 3_000, 300);
    // THEN it ends by SIGKILL
    expect(result.timedOut).toBe(true);
    expect(result.signal).toBe('SIGKILL');
  });

  test('a command that cannot be started says so on stderr, with the shell\'s exit code', async () => {
    const result = await runCommand('/nonexistent/tool', [], { timeoutMs: 10_000 });
    expect(result.code).toBe(127);
    expect(result.stderr).toContain('/nonexistent/tool');
  });

  test('output held open by a process that left the group does not keep the caller waiting', async () => {
    // GIVEN a command whose child starts a session of its own (setsid) holding the output pipe
    const result = await sh('setsid /bin/sleep 600 & echo $!', 1_000, 300);
    const sleeper = Number(result.stdout.trim());
    // (what this test started, it stops)
    try {
      process.kill(sleeper, 'SIGKILL');
    } catch {
      // already gone
    }
    // THEN the caller gets its answer once the grace periods are over, as timed out
    expect(result.timedOut).toBe(true);
    expect(sleeper).toBeGreaterThan(0);
  });

  test('the environment is exactly the one given', async () => {
    const result = await runCommand('/bin/sh', ['-c', 'echo "${ONLY:-unset} ${HOME:-no home}"'], { timeoutMs: 10_000, env: { ONLY: 'this' } });
    expect(result.stdout).toBe('this no home\n');
  });
});
