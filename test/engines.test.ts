import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * package.json promises the Node lines in `engines`; `npm ci` then warns EBADENGINE for any locked
 * package that asks for a newer one (@nats-io/nuid 3 asked for Node 22 while Node 20 was promised).
 * npm itself judges, with --engine-strict against the Node running the tests (CI runs them on each
 * line), offline from the cache `npm ci` filled, writing nothing.
 */

const ROOT = join(__dirname, '..');

test('every locked package accepts the Node running the tests, one of the lines package.json promises', () => {
  const { engines } = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { engines: { node: string } };
  expect(engines.node.split('||').map((line) => line.trim().replace(/^\^/, '').split('.')[0])).toContain(process.versions.node.split('.')[0]);
  const npm = spawnSync('npm', ['install', '--dry-run', '--engine-strict', '--offline', '--ignore-scripts', '--no-audit', '--no-fund'], {
    cwd: ROOT, encoding: 'utf8', timeout: 120_000, stdio: ['ignore', 'pipe', 'pipe'],
  });
  expect([npm.error?.message, npm.stderr.match(/^npm error notsup .*$/gm) ?? [], npm.status]).toEqual([undefined, [], 0]);
}, 150_000);
