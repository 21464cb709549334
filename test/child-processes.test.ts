import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { runCommand } from '../lib/deploy/run-command';

/**
 * A test file that fails while a nats-server and a `nats sub` run, without stopping them: the test
 * environment stops both when the file ends. Proven on a real jest run of such a file.
 */

const REPO = resolve(__dirname, '..');
const work = mkdtempSync(join(tmpdir(), 'child-processes-test-'));

/** Running, not merely a zombie: here PID 1 may never reap a process whose parent died first (nats under its shell). */
const alive = (pid: number): boolean => {
  try {
    return !/^\d+ \(.*\) Z /.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
};

afterAll(() => rmSync(work, { recursive: true, force: true }));

/** Starts the programs through the project's helpers, records their process ids, and fails. */
const LEAKING_TEST = (pidsFile: string) => `
const { readFileSync, writeFileSync } = require('node:fs');
const { parseConfig } = require(${JSON.stringify(join(REPO, 'lib/config/config'))});
const { ensurePki } = require(${JSON.stringify(join(REPO, 'lib/pki/pki'))});
const { startNatsServer } = require(${JSON.stringify(join(REPO, 'test/support/nats-server'))});
const { startCli } = require(${JSON.stringify(join(REPO, 'test/support/nats-cli'))});
const { tracked } = require(${JSON.stringify(join(REPO, 'test/support/child-processes'))});

test('leaves a server and a subscriber running, and fails', async () => {
  const config = parseConfig({});
  const { paths } = await ensurePki(config, { baseDir: ${JSON.stringify(work)} });
  const server = await startNatsServer({ config, caFile: paths.caCert, certFile: paths.serverCert, keyFile: paths.serverKey });
  const sub = startCli(\`nats -s \${server.url} --tlscert keys/client1.crt --tlskey keys/client1.key --tlsca keys/ca.crt sub demo --wait 90s\`,
    { cwd: ${JSON.stringify(work)}, home: ${JSON.stringify(work)}, timeoutMs: 120000 });
  await sub.waitFor(/Subscribing on demo/, 20000);
  // (--wait: should everything else fail, the subscriber still ends by itself.) Each tracked process
  // and its children: the subscriber is a shell running nats.
  const children = (pid) => readFileSync(\`/proc/\${pid}/task/\${pid}/children\`, 'utf8').split(' ').filter(Boolean).map(Number);
  writeFileSync(${JSON.stringify(pidsFile)}, JSON.stringify(tracked().flatMap(({ pid }) => [pid, ...children(pid)])));
  expect('the test').toBe('failed');
}, 60000);
`;

test('a failed test file\'s nats-server and nats CLI processes are stopped when the file ends', async () => {
  // GIVEN a test file that starts a server and a subscriber and fails before stopping them
  const pidsFile = join(work, 'pids.json');
  writeFileSync(join(work, 'leaking.test.js'), LEAKING_TEST(pidsFile));
  // (the project's transform and test environment, from its jest.config.js)
  const { transform, testEnvironment } = require(join(REPO, 'jest.config.js')) as Record<string, unknown>;
  const config = { rootDir: REPO, roots: [work], testMatch: ['**/leaking.test.js'], transform, testEnvironment };
  // WHEN jest runs it with the project's test environment
  const run = await runCommand(process.execPath, [join(REPO, 'node_modules/jest/bin/jest.js'), '--config', JSON.stringify(config), '--ci'], {
    cwd: REPO, env: { PATH: process.env.PATH, HOME: process.env.HOME }, timeoutMs: 120_000,
  });
  const pids = JSON.parse(readFileSync(pidsFile, 'utf8')) as number[];
  const left = pids.filter(alive);
  // (what this test started, it stops, whatever happened)
  for (const pid of left) process.kill(pid, 'SIGKILL');
  // THEN the file failed, and neither program outlived it
  expect(run.stderr).toContain('Expected: "failed"');
  expect(run.code).toBe(1);
  // nats-server, and the subscriber's shell with nats under it
  expect(pids).toHaveLength(3);
  expect(left).toEqual([]);
}, 150_000);
