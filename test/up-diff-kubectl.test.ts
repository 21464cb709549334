import { existsSync, symlinkSync, writeFileSync } from 'node:fs';
import { delimiter, dirname, join } from 'node:path';
import { stringify } from 'yaml';
import { startFakeApiServer, type FakeApiServer } from './support/fake-api-server';
import { removeSandboxes, sandbox, withIssuedKeys, type Sandbox } from './support/sandbox';

// `up --diff --context staging` with the real kubectl (the one on PATH) beside a stand-in helm,
// against the in-memory API server of test/support/fake-api-server.ts.
afterAll(removeSandboxes);
jest.setTimeout(120_000);

let server: FakeApiServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

/** The machine's program `tool`, from this process's PATH. */
function machineTool(tool: string): string {
  const found = (process.env.PATH ?? '').split(delimiter).map((dir) => join(dir, tool)).find((path) => existsSync(path));
  if (!found) throw new Error(`${tool} is not on PATH`);
  return found;
}

/** A sandbox whose kubectl (and diff) are the real ones, its kubeconfig naming context `staging` on the API server. */
async function realKubectlSandbox(forbidLists: string[] = []): Promise<{ box: Sandbox; env: NodeJS.ProcessEnv }> {
  server = await startFakeApiServer({ forbidLists });
  const box = await withIssuedKeys(sandbox(['helm']));
  // kubectl diff runs diff(1): both from the machine, beside the stand-ins.
  const fakeBin = box.fake.path.split(':')[0];
  for (const tool of ['kubectl', 'diff']) symlinkSync(machineTool(tool), join(fakeBin, tool));
  const home = dirname(box.root);
  const config = join(home, 'kubeconfig');
  writeFileSync(config, stringify({
    apiVersion: 'v1', kind: 'Config', 'current-context': 'staging',
    clusters: [{ name: 'fake', cluster: { server: server.url } }],
    users: [{ name: 'fake', user: { token: 'unused' } }],
    contexts: [{ name: 'staging', context: { cluster: 'fake', user: 'fake' } }],
  }));
  return { box, env: { KUBECONFIG: config, HOME: home } };
}

test('differences are shown and counted, whatever KUBECTL_EXTERNAL_DIFF the user set', async () => {
  // GIVEN an empty cluster and a diff program in the user's environment that exits 1 and prints nothing
  const { box, env } = await realKubectlSandbox();
  const result = await box.up(['--diff', '--context', 'staging'], { ...env, KUBECTL_EXTERNAL_DIFF: machineTool('false') });
  // THEN up shows kubectl's own unified diffs and names every object that would be created
  expect(result.stderr).toBe('');
  expect(result.code).toBe(1);
  expect(result.stdout).toMatch(/^diff -u -N \S+\/v1\.Service\.nats\.nats-np \S+$/m);
  expect(result.stdout).toMatch(/✔ Diff — \d+ object\(s\) would change or be pruned: .*v1\.Service\.nats\.nats-np/);
  expect(result.stdout).not.toContain('the differences are above');
});

test('when kubectl cannot list what would be pruned, the diff is a failure, not a difference', async () => {
  // GIVEN a user who may not list Secrets: kubectl warns, shows the rest and exits 1
  const { box, env } = await realKubectlSandbox(['secrets']);
  const result = await box.up(['--diff', '--context', 'staging'], env);
  expect(result.code).toBe(1);
  expect(result.stderr).toContain('✖ Diff failed: kubectl could not tell what would be pruned (exit code 1)');
  expect(result.stderr).toMatch(/pruning failed and could not be evaluated err: .*secrets is forbidden/);
  expect(result.stdout).not.toContain('✔ Diff');
});
