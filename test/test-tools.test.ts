import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCommand } from '../lib/deploy/run-command';
import { MissingToolError, natsCliBin, natsServerBin, testTool } from './support/tools';
import { toolPath } from './tools/build';

/** The real programs the tests run come from test/tools/.bin/, which `npm run tools` fills. */
describe('the programs the tests run', () => {
  const work = mkdtempSync(join(tmpdir(), 'test-tools-'));
  afterAll(() => rmSync(work, { recursive: true, force: true }));

  test('by default the chart\'s nats-server v2.14.2 and natscli v0.5.0, built from test/tools', async () => {
    expect(natsServerBin({})).toBe(toolPath('nats-server'));
    expect(natsCliBin({})).toBe(toolPath('nats'));
    const server = await runCommand(natsServerBin({}), ['--version'], { env: {}, timeoutMs: 10_000 });
    expect(server.stdout.trim()).toBe('nats-server: v2.14.2');
    const cli = await runCommand(natsCliBin({}), ['--version'], { env: {}, timeoutMs: 10_000 });
    expect(cli.stdout.trim()).toBe('v0.5.0');
  });

  test('a program not built yet fails with one line saying to run npm run tools', () => {
    expect(() => testTool('no-such-program', 'natscli')).toThrow(MissingToolError);
    expect(() => testTool('no-such-program', 'natscli')).toThrow(
      new MissingToolError('test/tools/.bin/no-such-program is missing: run `npm run tools -- natscli` (it builds no-such-program from test/tools/natscli/go.mod)'),
    );
  });

  test('NATS_SERVER_BIN runs another nats-server, and must name an executable', () => {
    const other = join(work, 'nats-server');
    writeFileSync(other, '#!/bin/sh\n');
    expect(() => natsServerBin({ NATS_SERVER_BIN: other })).toThrow(`NATS_SERVER_BIN=${other} is not an executable: fix the path or unset it`);
    chmodSync(other, 0o755);
    expect(natsServerBin({ NATS_SERVER_BIN: other })).toBe(other);
    // An empty value is unset, as the shell's `NATS_SERVER_BIN= npm test` means it.
    expect(natsServerBin({ NATS_SERVER_BIN: '' })).toBe(toolPath('nats-server'));
  });
});
