import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

/**
 * scripts/lib/ts-hook.cjs in a project of its own: a copy of the hook and its compiler, two
 * TypeScript files and a node_modules/ whose only package is a link to sucrase, so the compile
 * cache under node_modules/.cache is this test's alone.
 */

const REPO = resolve(__dirname, '..');
/** The hook's MAX_ENTRIES. */
const MAX_ENTRIES = 1000;
const DAY_MS = 24 * 3600 * 1000;

const work = mkdtempSync(join(tmpdir(), 'ts-hook-test-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

let projects = 0;
function project(): { root: string; cache: string } {
  const root = join(work, `project-${++projects}`);
  mkdirSync(join(root, 'scripts', 'lib'), { recursive: true });
  mkdirSync(join(root, 'node_modules'));
  for (const file of ['ts-hook.cjs', 'ts-compile.cjs']) copyFileSync(join(REPO, 'scripts/lib', file), join(root, 'scripts/lib', file));
  symlinkSync(join(REPO, 'node_modules', 'sucrase'), join(root, 'node_modules', 'sucrase'), 'dir');
  writeFileSync(join(root, 'name.ts'), "export const name: string = 'cache';\n");
  writeFileSync(join(root, 'greet.ts'), "import { name } from './name';\nconst greeting = (who: string): string => `hello ${who}`;\nconsole.log(greeting(name));\n");
  return { root, cache: join(root, 'node_modules', '.cache', 'k3s-nats-tls-ts') };
}

/** Runs greet.ts through the hook: no stdin, a time bound. */
function greet(root: string) {
  const result = spawnSync(process.execPath, ['--require', join(root, 'scripts/lib/ts-hook.cjs'), join(root, 'greet.ts')], {
    cwd: root, stdio: ['ignore', 'pipe', 'pipe'], encoding: 'utf8', timeout: 20_000, killSignal: 'SIGKILL',
  });
  if (result.error) throw result.error;
  return result;
}

const entries = (cache: string) => readdirSync(cache).filter((name) => name.endsWith('.js')).sort();
const HEADER = /^\/\/ k3s-nats-tls-ts sha256:[0-9a-f]{64}\n/;

test('a first run compiles and caches each file, headed by the hash of its compiled text', () => {
  const { root, cache } = project();
  const result = greet(root);
  expect(result).toMatchObject({ status: 0, stdout: 'hello cache\n', stderr: '' });
  expect(entries(cache)).toHaveLength(2);
  for (const name of entries(cache)) expect(readFileSync(join(cache, name), 'utf8')).toMatch(HEADER);
});

test.each([
  ['emptied', () => ''],
  ['cut short', (text: string) => text.slice(0, Math.floor(text.length / 2))],
  ['edited under an unchanged header', (text: string) => text.replace(/'cache'|`hello \$\{who\}`/, "'tampered'")],
  ['written by the earlier hook, without a header', (text: string) => text.replace(HEADER, '')],
])('an entry %s is compiled again, not run', (_what, damage) => {
  // GIVEN a cache whose every entry is damaged
  const { root, cache } = project();
  expect(greet(root).status).toBe(0);
  const whole = new Map(entries(cache).map((name) => [name, readFileSync(join(cache, name), 'utf8')]));
  for (const [name, text] of whole) writeFileSync(join(cache, name), damage(text));
  // WHEN the program runs again THEN it runs as compiled from the source
  expect(greet(root)).toMatchObject({ status: 0, stdout: 'hello cache\n', stderr: '' });
  // ... and the entries are whole again
  for (const [name, text] of whole) expect(readFileSync(join(cache, name), 'utf8')).toBe(text);
});

test('the cache keeps the most recently used entries and drops what killed runs left', () => {
  // GIVEN a full cache of old entries, an old temporary file and one being written right now
  const { root, cache } = project();
  mkdirSync(cache, { recursive: true });
  const now = Date.now();
  const fillers = Array.from({ length: MAX_ENTRIES + 100 }, (_, i) => `${i.toString(16).padStart(64, '0')}.js`);
  fillers.forEach((name, i) => {
    writeFileSync(join(cache, name), '');
    // filler i was last used i minutes after a week ago
    const used = (now - 7 * DAY_MS + i * 60_000) / 1000;
    utimesSync(join(cache, name), used, used);
  });
  const stale = `${fillers[0]}.0123456789ab.tmp`;
  const fresh = `${fillers[1]}.ba9876543210.tmp`;
  for (const name of [stale, fresh]) writeFileSync(join(cache, name), '');
  utimesSync(join(cache, stale), (now - DAY_MS) / 1000, (now - DAY_MS) / 1000);
  // WHEN a run compiles (and stores) the two files
  expect(greet(root).stdout).toBe('hello cache\n');
  // THEN the cache holds MAX_ENTRIES: the two new entries and the most recently used fillers
  const kept = entries(cache);
  expect(kept).toHaveLength(MAX_ENTRIES);
  expect(kept.filter((name) => !fillers.includes(name))).toHaveLength(2);
  expect(kept).not.toContain(fillers[101]);
  expect(kept).toContain(fillers[102]);
  // ... the old temporary file is gone, the one in progress is left to its writer
  expect(readdirSync(cache)).not.toContain(stale);
  expect(readdirSync(cache)).toContain(fresh);
});

test('an entry read a day after it was last used counts as used again', () => {
  const { root, cache } = project();
  expect(greet(root).status).toBe(0);
  const old = (Date.now() - 2 * DAY_MS) / 1000;
  for (const name of entries(cache)) utimesSync(join(cache, name), old, old);
  expect(greet(root).stdout).toBe('hello cache\n');
  for (const name of entries(cache)) expect(statSync(join(cache, name)).mtimeMs).toBeGreaterThan(Date.now() - 60_000);
});
