import { spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { copyProject } from './support/project-copy';

// `npm run test:unit`'s runner, in a copy whose checks are stand-ins: a failing check ends the run
// with its output and exit code 1, and jest never starts.

const work = mkdtempSync(join(tmpdir(), 'unit-phases-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

function runner(scripts: Record<string, string>) {
  const root = copyProject(work);
  mkdirSync(join(root, 'test', 'support'), { recursive: true });
  cpSync(join(__dirname, 'support', 'unit-phases.ts'), join(root, 'test', 'support', 'unit-phases.ts'));
  const manifest = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { scripts: Record<string, string> };
  writeFileSync(join(root, 'package.json'), JSON.stringify({ ...manifest, scripts: { ...manifest.scripts, ...scripts } }));
  // With --listTests a jest that started would print every test file on stdout.
  return spawnSync(process.execPath, ['--require', './scripts/lib/ts-hook.cjs', 'test/support/unit-phases.ts', '--listTests'], {
    cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 120_000,
  });
}

test('a failing check prints both checks\' output, names the one that failed and does not start jest', () => {
  const run = runner({ typecheck: 'echo types are fine', lint: 'echo lint found a problem >&2; exit 3' });
  expect(run.status).toBe(1);
  expect(run.stdout).toBe('types are fine\nlint found a problem\n');
  expect(run.stderr).toBe('✖ npm run lint failed: jest did not run\n');
});
