import { type NatsInstall } from '../constructs/defaults';
import { k3dVersionProblem } from './k3d';

/** The tools up and down need, and how each is checked before anything runs (lib/driver/checks.ts). */

export interface ToolCheck {
  readonly tool: string;
  /** A harmless command that only succeeds when the tool works (for docker: the engine answers). */
  readonly probe: readonly string[];
  readonly missingHint: string;
  readonly brokenHint: string;
  /** What is wrong with the probe's output (a tool of the wrong major version), if anything. */
  readonly outputProblem?: (stdout: string) => string | undefined;
}

const TOOLS: Record<'docker' | 'k3d' | 'kubectl' | 'helm', ToolCheck> = {
  docker: {
    tool: 'docker', probe: ['info'],
    missingHint: 'install Docker Engine (https://docs.docker.com/engine/install/) or Docker Desktop, then start it',
    brokenHint: 'the Docker engine does not answer: start it (e.g. `sudo systemctl start docker`) or make /var/run/docker.sock accessible to you',
  },
  k3d: {
    tool: 'k3d', probe: ['version'],
    missingHint: 'install k3d v5 (https://k3d.io/#installation)',
    brokenHint: 'reinstall k3d v5 (https://k3d.io/#installation)',
    outputProblem: k3dVersionProblem,
  },
  kubectl: {
    tool: 'kubectl', probe: ['version', '--client'],
    missingHint: 'install kubectl (https://kubernetes.io/docs/tasks/tools/)',
    brokenHint: 'reinstall kubectl (https://kubernetes.io/docs/tasks/tools/)',
  },
  helm: {
    tool: 'helm', probe: ['version', '--short'],
    missingHint: 'install Helm 3 (https://helm.sh/docs/intro/install/)',
    brokenHint: 'reinstall Helm 3 (https://helm.sh/docs/intro/install/)',
  },
};

/**
 * Oldest kubectl `up` works with: `--prune-allowlist` exists since 1.26, and before 1.27 `kubectl diff
 * --prune` ignored `-l`, so `up --diff` would have listed everyone's objects as pruned.
 */
const KUBECTL_MIN_MINOR = 27;

/** What is wrong with `kubectl version --client`'s output for up, if anything. */
export function kubectlVersionProblem(versionOutput: string): string | undefined {
  const match = /^Client Version: v(\d+)\.(\d+)\.\d+/m.exec(versionOutput);
  if (!match) return `\`kubectl version --client\` printed no "Client Version: v1.x.y" line (${versionOutput.trim().split('\n')[0] || 'nothing'})`;
  const [major, minor] = [Number(match[1]), Number(match[2])];
  if (major === 1 && minor < KUBECTL_MIN_MINOR) {
    return `this is kubectl 1.${minor}, but up needs 1.${KUBECTL_MIN_MINOR} or later to prune (\`--prune-allowlist\`, \`kubectl diff --prune -l\`) — ` +
      'install a current kubectl (https://kubernetes.io/docs/tasks/tools/)';
  }
  return undefined;
}

/**
 * Tools `up` needs; with an existing kubectl context there is no k3d cluster to manage, and with
 * `nats.install: helmchart` the cluster's helm controller renders the chart, not our helm.
 */
export const upTools = (useK3d: boolean, install: NatsInstall = 'template'): ToolCheck[] => [
  ...(useK3d ? [TOOLS.docker, TOOLS.k3d] : []),
  { ...TOOLS.kubectl, outputProblem: kubectlVersionProblem },
  ...(install === 'template' ? [TOOLS.helm] : []),
];

/** Tools `down` needs: k3d deletes the cluster, or kubectl deletes our objects from a context. */
export const downTools = (useK3d: boolean): ToolCheck[] => (useK3d ? [TOOLS.docker, TOOLS.k3d] : [TOOLS.kubectl]);
