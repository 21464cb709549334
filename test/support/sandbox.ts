import { createHash } from 'node:crypto';
import { cpSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { commandLine, FAKE_TOOLS, FakeTool, fakeToolbox, FakeToolbox } from './fake-tools';
import { fixtureKeys } from './fixture-pki';
import { copyProject, RunningScript, runScript, ScriptResult, startScript } from './project-copy';

/**
 * A copy of the project plus stand-in tools, in which scripts/up.mjs and scripts/down.mjs run as a
 * user runs them (node, real zx, real PKI and synth). Call `removeSandboxes()` in afterAll.
 */
export interface Sandbox {
  readonly root: string;
  readonly fake: FakeToolbox;
  up(args?: string[], env?: NodeJS.ProcessEnv): Promise<ScriptResult>;
  /** Starts up without waiting for it, to signal it while it runs. */
  startUp(args?: string[], env?: NodeJS.ProcessEnv): RunningScript;
  down(args?: string[], env?: NodeJS.ProcessEnv): Promise<ScriptResult>;
  /** The stand-ins' calls so far, as command lines. */
  calls(): string[];
  clearCalls(): void;
}

const created: string[] = [];

export function sandbox(tools: readonly FakeTool[] = FAKE_TOOLS): Sandbox {
  const dir = mkdtempSync(join(tmpdir(), 'k3s-nats-tls-sandbox-'));
  created.push(dir);
  const root = copyProject(dir);
  const fake = fakeToolbox(dir, tools);
  return {
    root,
    fake,
    up: (args = [], env = {}) => runScript(root, 'up.mjs', args, { ...fake.env, ...env }),
    startUp: (args = [], env = {}) => startScript(root, 'up.mjs', args, { ...fake.env, ...env }),
    down: (args = [], env = {}) => runScript(root, 'down.mjs', args, { ...fake.env, ...env }),
    calls: () => fake.calls().map(commandLine),
    clearCalls: () => rmSync(fake.logFile, { force: true }),
  };
}

export const removeSandboxes = (): void => created.splice(0).forEach((dir) => rmSync(dir, { recursive: true, force: true }));

/** Puts the run's default PKI (fixture-pki.ts) into the sandbox's keys/, as a previous up leaves it; up then reuses it. */
export async function withIssuedKeys(box: Sandbox): Promise<Sandbox> {
  cpSync(await fixtureKeys(), join(box.root, 'keys'), { recursive: true });
  return box;
}

/** Every file under `root` but node_modules, with its content hash and mode: "nothing was written" is "this did not change". */
export function tree(root: string): Record<string, string> {
  const files: Record<string, string> = {};
  const walk = (dir: string): void => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      if (entry.name === 'node_modules') continue;
      const path = join(dir, entry.name);
      if (entry.isDirectory()) walk(path);
      else files[relative(root, path)] = `${createHash('sha256').update(readFileSync(path)).digest('hex')} ${statSync(path).mode.toString(8)}`;
    }
  };
  walk(root);
  return files;
}

// The calls a default deployment makes, spelled out literally: the tests check the exact commands.
export const PROBES = ['docker info', 'k3d version', 'kubectl version --client', 'helm version --short'];
export const LIST = 'k3d cluster list -o json';
export const GET_CONTEXTS = 'kubectl config get-contexts -o name';
export const CREATE = 'k3d cluster create dev --image rancher/k3s:v1.36.3-k3s1 ' +
  '-p 8080:80@loadbalancer -p 8443:443@loadbalancer -p 4222:31400@server:0 --wait --timeout 300s';
export const START = 'k3d cluster start dev --wait --timeout 300s';
/** helm runs in a scratch folder, so the values file is passed by absolute path. */
export const render = (root: string, values = join(root, 'dist/helm/nats-values.yaml')): string =>
  `helm template --repo https://nats-io.github.io/k8s/helm/charts/ --version 2.14.2 --namespace nats --skip-tests -f ${values} -- nats nats`;
export const MANIFESTS = [
  'dist/0000-namespaces.k8s.yaml', 'dist/0001-nats-tls.k8s.yaml', 'dist/0002-nats-access.k8s.yaml', 'dist/0003-echo.k8s.yaml', 'dist/helm/nats.yaml',
];
export const kubectl = (context: string, command: string): string => `kubectl --context ${context} --request-timeout=30s ${command}`;
/** What up may prune, spelled out: built-in kinds only, never Namespace; k3s's HelmChart with nats.install helmchart. */
export const PRUNE_ALLOWLIST = [
  'core/v1/ConfigMap', 'core/v1/Secret', 'core/v1/Service', 'core/v1/ServiceAccount',
  'apps/v1/Deployment', 'apps/v1/StatefulSet', 'networking.k8s.io/v1/Ingress', 'policy/v1/PodDisruptionBudget',
];
/** One kubectl apply (or diff) of `files`, pruning what carries our label and is not among them. */
export const pruning = (verb: 'apply' | 'diff', files: readonly string[], allowlist = PRUNE_ALLOWLIST, instance = 'default'): string => [
  verb, '--prune', '-l', `app.kubernetes.io/part-of=k3s-nats-tls,k3s-nats-tls/instance=${instance}`,
  ...allowlist.map((kind) => `--prune-allowlist=${kind}`), ...files.map((file) => `-f ${file}`),
].join(' ');
/** The allowlist with nats.install helmchart, where up may also prune a HelmChart of ours. */
export const HELMCHART_ALLOWLIST = [...PRUNE_ALLOWLIST, 'helm.cattle.io/v1/HelmChart'];
/**
 * What up does in the Apply step: looks for objects of the manifests that exist and are not ours, creates the missing
 * Namespaces (never applies them), then one kubectl apply of the rest.
 */
export const applies = (context: string, files: readonly string[] = MANIFESTS, allowlist = PRUNE_ALLOWLIST): string[] => {
  const objects = files.filter((file) => !file.endsWith('0000-namespaces.k8s.yaml'));
  return [
    kubectl(context, `get --ignore-not-found -o json ${objects.map((file) => `-f ${file}`).join(' ')}`),
    ...(files.length > objects.length ? [kubectl(context, 'create -f dist/0000-namespaces.k8s.yaml')] : []),
    kubectl(context, pruning('apply', objects, allowlist)),
  ];
};
/** The look for objects up would take over, then for the Namespaces it would create, then one kubectl diff, as up --diff runs them. */
export const diffs = (context: string, files: readonly string[] = MANIFESTS, allowlist = PRUNE_ALLOWLIST): string[] => {
  const objects = files.filter((file) => !file.endsWith('0000-namespaces.k8s.yaml'));
  return [
    kubectl(context, `get --ignore-not-found -o json ${objects.map((file) => `-f ${file}`).join(' ')}`),
    kubectl(context, 'get namespace nats --ignore-not-found -o json'),
    kubectl(context, pruning('diff', objects, allowlist)),
  ];
};
/** `kubectl get namespace nats -o json` where it exists (up --diff then has no Namespace to create). */
export const NATS_NAMESPACE_JSON = JSON.stringify({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'nats' } });
/** The look for a HelmChart left by nats.install helmchart, which up makes before applying with template. */
export const HELMCHARTS = (context: string): string =>
  kubectl(context, '-n kube-system get helmcharts.helm.cattle.io/nats --ignore-not-found -o json');
export const rollouts = (context: string): string[] => [
  kubectl(context, '-n default rollout status deployment/echo --timeout=180s'),
  kubectl(context, '-n nats rollout status statefulset/nats --timeout=300s'),
];
export const VERIFY = 'verify --echo-url http://localhost:8080 --nats-url tls://localhost:4222 --keys keys';

export const UP_STEPS = ['Preflight', 'Configuration', 'Cluster', 'Certificates', 'Manifests', 'NATS chart', 'Apply', 'Rollout', 'Verify'];
/** Steps whose progress line says they succeeded. */
export const completed = (result: ScriptResult, steps: readonly string[] = UP_STEPS): string[] =>
  steps.filter((step) => result.stdout.includes(`✔ ${step}`));
