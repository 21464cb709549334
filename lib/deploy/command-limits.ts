import { basename, join } from 'node:path';
import { UserError } from '../util/errors';
import { K3D_WAIT_SECONDS } from './k3d';

/**
 * How long each external command of the deploy scripts may take, and what to check when it does
 * not finish in time. Every command gets a limit, so no tool can hang a run: a tool that waits on
 * the network, on Docker or on a login gets stopped and named instead. The limits are ceilings
 * far above a normal run; the tools' own timeouts (k3d --timeout, kubectl --timeout and
 * --request-timeout) are shorter, so their own error messages come first.
 */

/** Bound on each request kubectl makes to the API server (every kubectl call that reaches a cluster). */
export const KUBECTL_REQUEST_TIMEOUT = '30s';

/** Caps every limit (seconds): for tests, and for users who prefer failing fast on a known-good machine. */
export const LIMIT_ENV = 'K3S_NATS_TLS_COMMAND_TIMEOUT';

export interface CommandLimit {
  readonly seconds: number;
  /** What the user should look at when the command ran out of time. */
  readonly check: string;
}

/** Answers from the local tool alone (versions, lists, local config): anything slower is stuck. */
const QUICK_SECONDS = 30;
/** Margin over a tool's own timeout, so the tool can report first and clean up. */
const MARGIN_SECONDS = 60;

const optionValue = (args: readonly string[], name: string): string | undefined => {
  const at = args.indexOf(name);
  if (at >= 0) return args[at + 1];
  return args.find((arg) => arg.startsWith(`${name}=`))?.slice(name.length + 1);
};

const durationSeconds = (text: string | undefined): number | undefined => {
  const match = /^(\d+)s$/.exec(text ?? '');
  return match ? Number(match[1]) : undefined;
};

function k3dLimit(args: readonly string[]): CommandLimit {
  const [group, verb, name] = args;
  const docker = 'check that the Docker engine answers (`docker info`)';
  if (group === 'cluster' && (verb === 'create' || verb === 'start')) {
    return {
      seconds: (durationSeconds(optionValue(args, '--timeout')) ?? K3D_WAIT_SECONDS) + MARGIN_SECONDS,
      check: `${docker} and what the cluster's containers do: \`docker ps -a --filter name=k3d-${name}\`, \`docker logs k3d-${name}-server-0\``,
    };
  }
  if (group === 'cluster' && verb === 'delete') {
    return { seconds: 120, check: `${docker}; see what is left with \`docker ps -a --filter name=k3d-${name}\`` };
  }
  return { seconds: QUICK_SECONDS, check: docker };
}

function kubectlLimit(args: readonly string[]): CommandLimit {
  const context = optionValue(args, '--context');
  if (args[0] === 'version' || args[0] === 'config') {
    return { seconds: QUICK_SECONDS, check: 'kubectl did not answer without a cluster: reinstall kubectl (https://kubernetes.io/docs/tasks/tools/)' };
  }
  const server = `check that the cluster answers: \`kubectl${context ? ` --context ${context}` : ''} cluster-info\`; ` +
    'a context whose user must log in interactively cannot be used here (kubectl gets no input)';
  if (args.includes('rollout') || args.includes('wait')) {
    return { seconds: (durationSeconds(optionValue(args, '--timeout')) ?? 0) + MARGIN_SECONDS, check: server };
  }
  // `delete` waits for finalizers: a namespace goes only once every pod in it has stopped, a
  // HelmChart once the helm controller has uninstalled its release (bounded by its --timeout).
  if (args.includes('delete')) return { seconds: Math.max(300, (durationSeconds(optionValue(args, '--timeout')) ?? 0) + MARGIN_SECONDS), check: server };
  return { seconds: 120, check: server };
}

function helmLimit(args: readonly string[]): CommandLimit {
  if (args[0] === 'template') {
    return {
      seconds: 180,
      check: `helm downloads the chart from ${optionValue(args, '--repo') ?? 'its repository'}: check the network and proxy settings (HTTPS_PROXY)`,
    };
  }
  return { seconds: QUICK_SECONDS, check: 'helm did not answer on its own: reinstall Helm 3 (https://helm.sh/docs/intro/install/)' };
}

/** The limit for `command args` (command may be a path); a limit in `env[LIMIT_ENV]` caps it. */
export function commandLimit(command: string, args: readonly string[], env: NodeJS.ProcessEnv): CommandLimit {
  const tool = basename(command);
  const limit = tool === 'k3d' ? k3dLimit(args)
    : tool === 'kubectl' ? kubectlLimit(args)
      : tool === 'helm' ? helmLimit(args)
        : tool === 'docker' ? { seconds: QUICK_SECONDS, check: 'the Docker engine does not answer: restart it' }
          : { seconds: 180, check: 'run it by hand to see what it waits for' };
  const cap = limitCap(env);
  return cap === undefined || cap >= limit.seconds ? limit : { ...limit, seconds: cap };
}

function limitCap(env: NodeJS.ProcessEnv): number | undefined {
  const text = env[LIMIT_ENV];
  if (text === undefined || text === '') return undefined;
  const seconds = Number(text);
  if (!Number.isFinite(seconds) || seconds <= 0) {
    throw new UserError(`${LIMIT_ENV}='${text}' is not a positive number of seconds: fix or unset it`);
  }
  return seconds;
}

/**
/**
 * Where helm looks for its state, each a variable of its own that beats the three homes: a user's
 * setting of any of them would bring their repositories or plugins back in.
 */
const HELM_STATE_OVERRIDES = ['HELM_REPOSITORY_CONFIG', 'HELM_REPOSITORY_CACHE', 'HELM_REGISTRY_CONFIG', 'HELM_PLUGINS'];

/**
 * Variables a tool must run without. k3d logs to stdout when LOG_LEVEL asks for debug output, which
 * would break the JSON of `k3d cluster list -o json`. kubectl diff runs the program
 * KUBECTL_EXTERNAL_DIFF names instead of `diff -u -N`, whose headers up reads the changed objects from.
 */
const UNSET_FOR: Readonly<Record<string, readonly string[]>> = { k3d: ['LOG_LEVEL'], kubectl: ['KUBECTL_EXTERNAL_DIFF'] };

/**
 * The environment a tool runs with.
 *
 * helm, given a `home` of its own, keeps its cache, configuration and data there instead of the
 * user's ~/.cache/helm and ~/.config/helm: `helm template --repo` reads the user's repositories.yaml
 * and fails outright when one repository listed there has no cached index ("no cached repo found",
 * helm/helm#11961, open in 3.22), and it would leave the downloaded chart in the user's cache.
 */
export function commandEnvironment(command: string, env: NodeJS.ProcessEnv, home?: string): NodeJS.ProcessEnv {
  const tool = basename(command);
  if (tool === 'helm' && home !== undefined) {
    return {
      ...without(env, HELM_STATE_OVERRIDES),
      HELM_CACHE_HOME: join(home, 'cache'), HELM_CONFIG_HOME: join(home, 'config'), HELM_DATA_HOME: join(home, 'data'),
    };
  }
  const unset = (UNSET_FOR[tool] ?? []).filter((name) => name in env);
  return unset.length === 0 ? env : without(env, unset);
}

function without(env: NodeJS.ProcessEnv, names: readonly string[]): NodeJS.ProcessEnv {
  const rest = { ...env };
  for (const name of names) delete rest[name];
  return rest;
}
