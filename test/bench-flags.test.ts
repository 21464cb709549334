import { spawnSync } from 'node:child_process';
import { join } from 'node:path';

// The benchmarks run for about a minute: a flag they do not know must stop them at once, and
// --help must not start one. Each case is one node start (~0.5 s); the per-run limit of 60 s only
// catches a benchmark that started anyway.
jest.setTimeout(120_000);

const run = (script: string, ...args: string[]) =>
  spawnSync(process.execPath, [join(__dirname, '..', 'scripts', script), ...args], {
    encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 60_000, env: { ...process.env, FORCE_COLOR: '0' },
  });

describe.each([
  ['bench.mjs', 'npm run bench'],
  ['bench-certs.mjs', 'npm run bench:certs'],
])('scripts/%s', (script, usage) => {
  test('--help prints the usage and measures nothing', () => {
    const result = run(script, '--help');
    expect(result.status).toBe(0);
    expect(result.stdout).toMatch(new RegExp(`^Usage: ${usage} -- \\[flags\\]\\n`));
    expect(result.stdout).toContain('--runs N');
    expect(result.stdout).not.toContain('(median of'); // the heading a measurement starts with
  });

  test.each([
    [['--bogus'], 'unknown flag --bogus'],
    [['--runs=0'], '--runs needs a whole number above 0'],
    [['--runs=many'], '--runs needs a whole number above 0'],
  ])('%p is refused with exit code 2 before anything is measured', (args, message) => {
    const result = run(script, ...args);
    expect(result.status).toBe(2);
    expect(result.stderr).toContain(message);
    expect(result.stderr).toContain(`Usage: ${usage}`);
    expect(result.stdout).toBe('');
  });
});
