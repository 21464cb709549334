import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { commandEnvironment } from '../lib/deploy/command-limits';
import { kubectlArgs } from '../lib/deploy/kubectl';
import { diffOutcome, pruningArgs } from '../lib/deploy/prune';
import { runCommand } from '../lib/deploy/run-command';
import { ownerLabels } from '../lib/synth/ownership';
import { startFakeApiServer, type FakeApiServer, type FakeApiServerOptions } from './support/fake-api-server';

/**
 * What up makes of `kubectl diff`: the real kubectl (the one on PATH) with up's arguments and up's
 * environment, against a small in-memory API server (test/support/fake-api-server.ts), or against a
 * closed port on 127.0.0.1.
 */

const CONTEXT = 'k3d-dev';
const work = mkdtempSync(join(tmpdir(), 'kubectl-diff-test-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

const labels = ownerLabels('default');
const MANIFEST = join(work, 'manifest.yaml');
writeFileSync(MANIFEST, [
  { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'settings', namespace: 'nats', labels }, data: { a: '1' } },
  { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'keys', namespace: 'nats', labels }, stringData: { k: 'v' } },
].map((object) => `---\n${stringify(object)}`).join(''));

let servers: FakeApiServer[] = [];
afterEach(async () => {
  await Promise.all(servers.map((server) => server.close()));
  servers = [];
});

let configs = 0;
function kubeconfig(server: string): string {
  const file = join(work, `kubeconfig-${++configs}`);
  writeFileSync(file, stringify({
    apiVersion: 'v1', kind: 'Config', 'current-context': CONTEXT,
    clusters: [{ name: 'c', cluster: { server } }],
    users: [{ name: 'u', user: { token: 'unused' } }],
    contexts: [{ name: CONTEXT, context: { cluster: 'c', user: 'u' } }],
  }));
  return file;
}

async function apiServer(options?: FakeApiServerOptions): Promise<string> {
  const server = await startFakeApiServer(options);
  servers.push(server);
  return kubeconfig(server.url);
}

/** A port on 127.0.0.1 that nothing listens on: bound, then released. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** kubectl with up's arguments; `env` as the user's environment, which up filters (commandEnvironment) unless `raw`. */
async function kubectl(verb: 'apply' | 'diff', config: string, env: NodeJS.ProcessEnv = {}, raw = false) {
  const userEnv = { PATH: process.env.PATH, HOME: work, KUBECONFIG: config, ...env };
  const result = await runCommand('kubectl', kubectlArgs(CONTEXT, ...pruningArgs(verb, [MANIFEST], 'template', 'default')), {
    env: raw ? userEnv : commandEnvironment('kubectl', userEnv), timeoutMs: 60_000,
  });
  if (result.code === null) throw new Error(`kubectl ${verb} did not finish: ${result.error?.message ?? result.signal ?? 'timed out'}`);
  return { ...result, code: result.code, outcome: diffOutcome(result.code, result.stdout, result.stderr) };
}

test('objects the cluster lacks are a difference, naming each object', async () => {
  const result = await kubectl('diff', await apiServer());
  expect(result.code).toBe(1);
  expect(result.outcome).toEqual({ verdict: 'differs', objects: ['v1.ConfigMap.nats.settings', 'v1.Secret.nats.keys'] });
});

test('after an apply of the same files nothing differs', async () => {
  const config = await apiServer();
  expect((await kubectl('apply', config)).code).toBe(0);
  const result = await kubectl('diff', config);
  expect([result.code, result.outcome]).toEqual([0, { verdict: 'same' }]);
});

test('an unreachable API server is an error (exit 2)', async () => {
  const result = await kubectl('diff', kubeconfig(`https://127.0.0.1:${await closedPort()}`));
  expect(result.code).toBe(2);
  expect(result.stderr).toMatch(/connection refused/);
  expect(result.outcome).toEqual({ verdict: 'failed', problem: 'exited with code 2' });
});

test('a user who may not list Secrets: kubectl warns that pruning failed and exits 1 as for a difference — a failure', async () => {
  const result = await kubectl('diff', await apiServer({ forbidLists: ['secrets'] }));
  expect(result.code).toBe(1);
  expect(result.stdout).toContain('diff -u -N ');
  expect(result.stderr).toMatch(/pruning failed and could not be evaluated err: .*forbidden/);
  expect(result.outcome).toEqual({ verdict: 'failed', problem: 'kubectl could not tell what would be pruned (exit code 1)' });
});

test('a diff program that fails with 1 and prints nothing is an error, not a difference', async () => {
  // GIVEN KUBECTL_EXTERNAL_DIFF naming a program that exits 1 without output, passed to kubectl as it is
  const result = await kubectl('diff', await apiServer(), { KUBECTL_EXTERNAL_DIFF: 'false' }, true);
  expect([result.code, result.stdout]).toEqual([1, '']);
  expect(result.outcome).toEqual({ verdict: 'failed', problem: 'exited with code 1 but printed no differences: an error, not a diff' });
  // ... while up's environment leaves the variable out, and kubectl runs diff -u -N
  expect((await kubectl('diff', await apiServer(), { KUBECTL_EXTERNAL_DIFF: 'false' })).outcome)
    .toEqual({ verdict: 'differs', objects: ['v1.ConfigMap.nats.settings', 'v1.Secret.nats.keys'] });
});
