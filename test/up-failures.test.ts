import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { FAKE_TOOLS } from './support/fake-tools';
import { completed, CREATE, LIST, PROBES, removeSandboxes, RENDER, rollouts, sandbox, UP_STEPS, VERIFY } from './support/sandbox';

// How scripts/up.mjs fails: every problem named with its step, command and the tool's own words,
// and nothing after the failing step runs. Stand-in tools fail on request (FAKE_FAIL).
afterAll(removeSandboxes);

describe('up: preflight', () => {
  test.concurrent.each(FAKE_TOOLS.map((tool) => [tool]))('without %s on PATH nothing runs and the tool is named with a hint', async (missing) => {
    // GIVEN PATH holds every stand-in but one (and never the machine's own tools)
    const box = sandbox(FAKE_TOOLS.filter((tool) => tool !== missing));
    // WHEN up runs
    const result = await box.up();
    // THEN it stops after probing the others: no cluster, no keys, no dist
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(new RegExp(`✖ Preflight failed: a required tool is missing or not working:\\n  - ${missing}: not found on PATH — install `));
    expect(box.calls()).toEqual(PROBES.filter((probe) => !probe.startsWith(`${missing} `)));
    expect(existsSync(join(box.root, 'keys'))).toBe(false);
    expect(existsSync(join(box.root, 'dist'))).toBe(false);
    expect(completed(result)).toEqual([]);
  });

  test.concurrent('every missing or broken tool is reported in one go', async () => {
    // GIVEN no kubectl, no helm, and a docker client whose engine does not answer
    const box = sandbox(['docker', 'k3d']);
    const result = await box.up([], { FAKE_FAIL: 'docker info' });
    // THEN all three are listed, each with what to do
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('3 required tools are missing or not working');
    expect(result.stderr).toContain('- docker: `docker info` failed (fake docker: simulated failure of "docker info") — the Docker engine does not answer: start it');
    expect(result.stderr).toContain('- kubectl: not found on PATH — install kubectl (https://kubernetes.io/docs/tasks/tools/)');
    expect(result.stderr).toContain('- helm: not found on PATH — install Helm 3 (https://helm.sh/docs/intro/install/)');
    expect(box.calls()).toEqual(['docker info', 'k3d version']);
  });
});

describe('up: a failing step stops the run', () => {
  interface FailureCase {
    readonly step: string;
    /** FAKE_FAIL prefix; otherwise `prepare` breaks the project. */
    readonly fail?: string;
    readonly prepare?: (root: string) => void;
    readonly message: string;
    readonly command?: string;
    /** The tool's own words, as the error shows them. */
    readonly output?: string;
    readonly hint?: string;
    readonly lastCall: string;
  }
  const SIMULATED = (tool: string) => `│ fake ${tool}: simulated failure`;
  const cases: FailureCase[] = [
    { step: 'Cluster', fail: 'k3d cluster list', message: 'exited with code 1', command: LIST, output: SIMULATED('k3d'), lastCall: LIST },
    { step: 'Cluster', fail: 'k3d cluster create', message: 'exited with code 1', command: CREATE, output: SIMULATED('k3d'), lastCall: CREATE },
    {
      step: 'Certificates', message: 'keys/ca.key is missing but keys/ca.crt exists', lastCall: CREATE,
      prepare: (root) => {
        mkdirSync(join(root, 'keys'));
        writeFileSync(join(root, 'keys', 'ca.crt'), 'not a certificate\n');
      },
    },
    {
      step: 'Manifests', message: 'exited with code 1', command: 'npm run synth (node --require sucrase/register/ts main.ts)', output: 'dist', lastCall: CREATE,
      prepare: (root) => writeFileSync(join(root, 'dist'), 'a file where synth needs a folder\n'),
    },
    { step: 'NATS chart', fail: 'helm template', message: 'exited with code 1', command: RENDER, output: SIMULATED('helm'), lastCall: RENDER },
    {
      step: 'Apply', fail: 'kubectl --context k3d-dev apply -f dist/0001-nats-tls.k8s.yaml', message: 'exited with code 1',
      command: 'kubectl --context k3d-dev apply -f dist/0001-nats-tls.k8s.yaml', output: SIMULATED('kubectl'),
      lastCall: 'kubectl --context k3d-dev apply -f dist/0001-nats-tls.k8s.yaml',
    },
    {
      step: 'Rollout', fail: 'kubectl --context k3d-dev -n default rollout',
      message: 'http-echo (deployment/echo in namespace default) is not ready after 180s',
      command: rollouts('k3d-dev')[0], output: SIMULATED('kubectl'),
      hint: '  look with: kubectl --context k3d-dev -n default describe deployment/echo\n         and: kubectl --context k3d-dev -n default get pods,events',
      lastCall: rollouts('k3d-dev')[0],
    },
    {
      step: 'Verify', fail: 'verify', message: 'exited with code 1', command: `node scripts/verify.mjs ${VERIFY.slice('verify '.length)}`,
      output: '│ ✖ NATS: client2 was admitted', lastCall: VERIFY,
    },
  ];

  test.concurrent.each(cases.map((c) => [`${c.step}${c.fail ? ` (${c.fail})` : ''}`, c] as const))('%s', async (_name, c) => {
    // GIVEN a project where this step fails
    const box = sandbox();
    c.prepare?.(box.root);
    // WHEN up runs
    const result = await box.up([], c.fail ? { FAKE_FAIL: c.fail } : {});
    // THEN it exits non-zero naming the step, the command and the tool's stderr
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(`✖ ${c.step} failed: ${c.message}`);
    if (c.command) expect(result.stderr).toContain(`  command: ${c.command}\n`);
    if (c.output) expect(result.stderr).toContain(c.output);
    if (c.hint) expect(result.stderr).toContain(c.hint);
    expect(result.stderr).not.toMatch(/^\s+at /m); // a user-fixable failure, not a crash with a stack trace
    // ... and no later step ran
    expect(box.calls().at(-1)).toBe(c.lastCall);
    expect(completed(result)).toEqual(UP_STEPS.slice(0, UP_STEPS.indexOf(c.step)));
  });
});
