import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { FAKE_TOOLS, survivors } from './support/fake-tools';
import {
  applies, completed, CREATE, GET_CONTEXTS, kubectl, LIST, PROBES, removeSandboxes, render, rollouts, sandbox, UP_STEPS, VERIFY, withIssuedKeys,
} from './support/sandbox';

// How scripts/up.mjs fails: every problem named with its step, command and the tool's own words,
// and nothing after the failing step runs. Stand-in tools fail on request (FAKE_FAIL), hang
// (FAKE_HANG) or ask for input (FAKE_KUBE_PROMPT).
afterAll(removeSandboxes);

// Most cases stop early; those failing after Manifests cost a synth (~1.5 s of CPU). Under two
// copies of the suite at once on 2 cores the slowest case took 20 s: a wide margin on that.
jest.setTimeout(180_000);

/** Seconds every command may take in the hang cases: far above a stand-in's milliseconds, even on a busy machine. */
const HANG_LIMIT = '8';

describe('up: preflight', () => {
  test.concurrent.each(FAKE_TOOLS.map((tool) => [tool]))('without %s on PATH nothing runs and the tool is named with a hint', async (missing) => {
    // GIVEN PATH holds every stand-in but one (and never the machine's own tools)
    const box = sandbox(FAKE_TOOLS.filter((tool) => tool !== missing));
    // WHEN up runs
    const result = await box.up();
    // THEN it stops after probing the others: no cluster, no keys, no dist
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(
      new RegExp(`✖ Preflight failed: a required tool is missing or not working:\\n  - ${missing}: not found on PATH — install `),
    );
    expect(box.calls()).toEqual(PROBES.filter((probe) => !probe.startsWith(`${missing} `)));
    expect(existsSync(join(box.root, 'keys'))).toBe(false);
    expect(existsSync(join(box.root, 'dist'))).toBe(false);
    expect(completed(result)).toEqual([]);
  });

  test.concurrent.each([
    ['k3d v4, which rejects the `server:0` node filter', { FAKE_K3D_VERSION: 'v4.4.8' },
      '- k3d: this is k3d v4.4.8, but the port mappings need k3d v5 (`@server:0`) — install k3d v5 (https://k3d.io/#installation)'],
    ['kubectl 1.26, whose diff --prune ignores -l', { FAKE_KUBECTL_VERSION: 'v1.26.3' },
      '- kubectl: this is kubectl 1.26, but up needs 1.27 or later to prune (`--prune-allowlist`, `kubectl diff --prune -l`)'],
  ])('%s, is refused with the fix', async (_tool, env, line) => {
    // GIVEN that version on PATH WHEN up runs
    const box = sandbox();
    const result = await box.up([], env);
    // THEN preflight names the version and what needs a newer one; nothing else ran
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(line);
    expect(box.calls()).toEqual(PROBES);
  });

  test.concurrent('a tool that does not answer is stopped after its time limit and reported with the others', async () => {
    // GIVEN a docker client whose engine never answers
    const box = sandbox();
    const result = await box.up([], { FAKE_HANG: 'docker info', K3S_NATS_TLS_COMMAND_TIMEOUT: HANG_LIMIT });
    // THEN preflight says so, still probes the other tools, and left nothing running
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(`- docker: \`docker info\` did not answer within ${HANG_LIMIT} s — the Docker engine does not answer: start it`);
    expect(box.calls()).toEqual(PROBES);
    expect(box.fake.hangPids()).toHaveLength(1);
    expect(await survivors(box.fake.hangPids())).toEqual([]);
  });

  test.concurrent('every missing or broken tool is reported in one go', async () => {
    // GIVEN no kubectl, no helm, and a docker client whose engine does not answer
    const box = sandbox(['docker', 'k3d']);
    const result = await box.up([], { FAKE_FAIL: 'docker info' });
    // THEN all three are listed, each with what to do
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('3 required tools are missing or not working');
    expect(result.stderr).toContain(
      '- docker: `docker info` failed (fake docker: simulated failure of "docker info") — the Docker engine does not answer: start it',
    );
    expect(result.stderr).toContain('- kubectl: not found on PATH — install kubectl (https://kubernetes.io/docs/tasks/tools/)');
    expect(result.stderr).toContain('- helm: not found on PATH — install Helm 3 (https://helm.sh/docs/intro/install/)');
    expect(box.calls()).toEqual(['docker info', 'k3d version']);
  });
});

describe('up: a failing step stops the run', () => {
  interface FailureCase {
    readonly step: string;
    /** FAKE_FAIL prefix; otherwise `env` or `prepare` breaks the run. */
    readonly fail?: string;
    readonly env?: NodeJS.ProcessEnv;
    readonly prepare?: (root: string) => void;
    /** Whether the project has keys from an earlier run (the step comes after Certificates). */
    readonly keys?: boolean;
    readonly message: string;
    readonly command?: string;
    /** The tool's own words, as the error shows them. */
    readonly output?: string;
    readonly hint?: string;
    readonly lastCall: string;
  }
  const SIMULATED = (tool: string) => `│ fake ${tool}: simulated failure`;
  const RENDER = render('<root>');
  const cases: FailureCase[] = [
    { step: 'Cluster', fail: 'k3d cluster list', message: 'exited with code 1', command: LIST, output: SIMULATED('k3d'), lastCall: LIST },
    {
      step: 'Cluster', fail: 'k3d cluster list (hangs)', env: { FAKE_HANG: 'k3d cluster list', K3S_NATS_TLS_COMMAND_TIMEOUT: HANG_LIMIT },
      message: `did not finish within ${HANG_LIMIT} s and was stopped`, command: LIST, output: '│ fake k3d: waiting for an answer that never comes',
      hint: 'check that the Docker engine answers (`docker info`)', lastCall: LIST,
    },
    { step: 'Cluster', fail: 'k3d cluster create', message: 'exited with code 1', command: CREATE, output: SIMULATED('k3d'), lastCall: CREATE },
    {
      step: 'Cluster', fail: 'k3d could not write the kubeconfig', env: { FAKE_KUBE_CONTEXTS: 'staging' },
      message: "kubectl has no context 'k3d-dev' (it knows: staging)",
      hint: "k3d could not write the cluster's context into your kubeconfig: " +
        'run `k3d kubeconfig merge dev --kubeconfig-merge-default`, then up again',
      lastCall: GET_CONTEXTS,
    },
    {
      step: 'Certificates', message: 'keys/ca.key is missing but keys/ca.crt exists', lastCall: GET_CONTEXTS,
      prepare: (root) => {
        mkdirSync(join(root, 'keys'));
        writeFileSync(join(root, 'keys', 'ca.crt'), 'not a certificate\n');
      },
    },
    {
      step: 'Manifests', message: "the output folder 'dist' (", lastCall: GET_CONTEXTS,
      prepare: (root) => writeFileSync(join(root, 'dist'), 'a file where synth needs a folder\n'),
    },
    {
      step: 'NATS chart', fail: 'helm template', keys: true,
      message: 'helm could not render chart nats 2.14.2 from https://nats-io.github.io/k8s/helm/charts/: exited with code 1',
      command: RENDER, output: SIMULATED('helm'), hint: 'check nats.chart (repo, version) in the configuration', lastCall: RENDER,
    },
    {
      step: 'NATS chart', fail: 'helm prints only a StatefulSet', keys: true, env: { FAKE_HELM_PARTIAL: '1' },
      message: "helm's output lacks Service nats, Service nats-headless, ConfigMap nats-config: not written to dist/helm/nats.yaml",
      command: RENDER, output: '│ kind: StatefulSet', hint: 'check that chart nats 2.14.2 from https://nats-io.github.io/k8s/helm/charts/ is the NATS chart',
      lastCall: RENDER,
    },
    {
      // The apply's own line holds a comma (the label selector), which FAKE_FAIL splits on: fail it by its start.
      step: 'Apply', fail: kubectl('k3d-dev', 'apply'), keys: true, message: 'exited with code 1',
      command: applies('k3d-dev').at(-1)!, output: SIMULATED('kubectl'), lastCall: applies('k3d-dev').at(-1)!,
    },
    {
      step: 'Apply', fail: 'kubectl asks for a username (no stdin: it fails at once)', keys: true, env: { FAKE_KUBE_PROMPT: '1' },
      message: 'exited with code 1', command: applies('k3d-dev')[0], output: '│ Please enter Username: fake kubectl: error: EOF',
      lastCall: applies('k3d-dev')[0],
    },
    {
      step: 'Rollout', fail: kubectl('k3d-dev', '-n default rollout'), keys: true,
      message: 'http-echo (deployment/echo in namespace default) is not ready after 180s',
      command: rollouts('k3d-dev')[0], output: SIMULATED('kubectl'),
      hint: '  look with: kubectl --context k3d-dev --request-timeout=30s -n default describe deployment/echo\n' +
        '         and: kubectl --context k3d-dev --request-timeout=30s -n default get pods,events',
      lastCall: rollouts('k3d-dev')[0],
    },
    {
      step: 'Verify', fail: 'verify', keys: true, message: 'exited with code 1', command: `node scripts/verify.mjs ${VERIFY.slice('verify '.length)}`,
      output: '│ ✖ NATS: client2 was admitted', lastCall: VERIFY,
    },
  ];

  test.concurrent.each(cases.map((c) => [`${c.step}${c.fail ? ` (${c.fail})` : ''}`, c] as const))('%s', async (_name, c) => {
    // GIVEN a project where this step fails
    const box = sandbox();
    if (c.keys) await withIssuedKeys(box);
    c.prepare?.(box.root);
    const atRoot = (text: string) => text.replace('<root>', box.root);
    // WHEN up runs
    const result = await box.up([], c.env ?? (c.fail ? { FAKE_FAIL: c.fail } : {}));
    // THEN it exits non-zero naming the step, the command and the tool's stderr
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(`✖ ${c.step} failed: ${c.message}`);
    if (c.command) expect(result.stderr).toContain(`  command: ${atRoot(c.command)}\n`);
    if (c.output) expect(result.stderr).toContain(c.output);
    if (c.hint) expect(result.stderr).toContain(c.hint);
    expect(result.stderr).not.toMatch(/^\s+at /m); // a user-fixable failure, not a crash with a stack trace
    // ... and no later step ran, and nothing was left running
    expect(box.calls().at(-1)).toBe(atRoot(c.lastCall));
    expect(completed(result)).toEqual(UP_STEPS.slice(0, UP_STEPS.indexOf(c.step)));
    expect(await survivors(box.fake.hangPids())).toEqual([]);
    if (c.step === 'NATS chart') expect(existsSync(join(box.root, 'dist/helm/nats.yaml'))).toBe(false);
  });
});

describe('up: interrupted', () => {
  test('Ctrl-C while a tool runs stops the tool too', async () => {
    // GIVEN up waiting on a k3d that never answers (and a limit far away)
    const box = sandbox();
    const running = box.startUp([], { FAKE_HANG: 'k3d cluster list' });
    while (box.fake.hangPids().length === 0 && running.child.exitCode === null) await sleep(100);
    // WHEN the user presses Ctrl-C (SIGINT to up)
    running.child.kill('SIGINT');
    const result = await running.result;
    // THEN up ends by that signal and k3d's process is gone with it
    expect(result.signal).toBe('SIGINT');
    expect(await survivors(box.fake.hangPids())).toEqual([]);
  });
});
