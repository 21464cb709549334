import type { ClusterConfig } from '../config/config';

/**
 * The k3d side of the deployment: the `cluster create` arguments built from the configuration, and
 * a check that an existing cluster still has the port mappings the configuration asks for (k3d
 * cannot change them after creation, so a drift means "delete and re-create").
 */

/**
 * `-p` values: Traefik's entrypoints through the load balancer, NATS's NodePort on the first server.
 * Agents change neither (k3d v5 pkg/client/ports.go TransformPorts): k3d rewrites `@loadbalancer`
 * to `servers:*:proxy` and `agents:*:proxy`, so the load balancer forwards 80 and 443 to every node,
 * where k3s's servicelb answers for Traefik; `@server:0` stays one upstream of the load balancer, and
 * the NodePort Service (externalTrafficPolicy Cluster) forwards from there to a NATS pod on any node.
 */
export function k3dPortMappings(cluster: ClusterConfig): string[] {
  const { http, https, nats } = cluster.ports;
  return [
    `${http.host}:${http.container}@loadbalancer`,
    `${https.host}:${https.container}@loadbalancer`,
    `${nats.host}:${nats.nodePort}@server:0`,
  ];
}

/**
 * How long `k3d cluster create/start --wait` may wait for the nodes. Without `--timeout` k3d waits
 * forever (a k3s server that never gets ready, an image that never arrives); with it, k3d gives up
 * and rolls back a half-made cluster itself.
 */
export const K3D_WAIT_SECONDS = 300;
const waitArgs = (): string[] => ['--wait', '--timeout', `${K3D_WAIT_SECONDS}s`];

/** Arguments of `k3d cluster create`; `--wait` returns once the k3s server (and each agent) is up. */
export function k3dCreateArgs(cluster: ClusterConfig): string[] {
  return [
    'cluster', 'create', cluster.name,
    '--image', cluster.image,
    ...(cluster.agents > 0 ? ['--agents', String(cluster.agents)] : []),
    ...k3dPortMappings(cluster).flatMap((mapping) => ['-p', mapping]),
    ...waitArgs(),
  ];
}

/** Arguments of `k3d cluster start`, which starts every node of the cluster that is not running. */
export const k3dStartArgs = (name: string): string[] => ['cluster', 'start', name, ...waitArgs()];

/** What to run when k3d made the cluster but could not write the kubeconfig (k3d only warns then). */
export const k3dKubeconfigHint = (name: string): string =>
  `k3d could not write the cluster's context into your kubeconfig: run \`k3d kubeconfig merge ${name} --kubeconfig-merge-default\`, then up again`;

/**
 * A problem with the output of `k3d version`, or undefined for k3d v5. k3d v4 spells node filters
 * `server[0]` and rejects the `server:0` the port mappings use; it prints "k3d version v4.4.8".
 */
export function k3dVersionProblem(versionOutput: string): string | undefined {
  const match = /^k3d version v(\d+)\.(\d+)\.(\d+)/m.exec(versionOutput);
  if (!match) {
    return `\`k3d version\` printed no "k3d version v5.x.y" line (${versionOutput.trim().split('\n')[0] || 'nothing'}) — install k3d v5 (https://k3d.io/#installation)`;
  }
  if (match[1] !== '5') {
    return `this is k3d v${match[1]}.${match[2]}.${match[3]}, but the port mappings need k3d v5 (\`@server:0\`) — install k3d v5 (https://k3d.io/#installation)`;
  }
  return undefined;
}

/** The parts of one entry of `k3d cluster list -o json` we read (k3d's types.Cluster / types.Node). */
export interface K3dClusterEntry {
  readonly name: string;
  /** Agent nodes, running or not (k3d prints it for every cluster). */
  readonly agentsCount?: number;
  readonly nodes?: ReadonlyArray<{
    readonly name?: string;
    readonly role?: string;
    readonly State?: { readonly Running?: boolean };
    /** Docker's nat.PortMap: "<containerPort>/<proto>" → bindings. */
    readonly portMappings?: Readonly<Record<string, ReadonlyArray<{ readonly HostIp?: string; readonly HostPort?: string }> | null>>;
  }>;
}

/** Finds the named cluster in the output of `k3d cluster list -o json` (a JSON array, `[]` when none). */
export function findK3dCluster(listJson: string, name: string): K3dClusterEntry | undefined {
  let clusters: unknown;
  try {
    clusters = JSON.parse(listJson);
  } catch {
    throw new Error(`'k3d cluster list -o json' did not print JSON: ${listJson.slice(0, 200)}`);
  }
  if (!Array.isArray(clusters)) throw new Error(`'k3d cluster list -o json' did not print a JSON array: ${listJson.slice(0, 200)}`);
  return (clusters as K3dClusterEntry[]).find((cluster) => cluster?.name === name);
}

/**
 * Nodes of an existing cluster that are not running (after `k3d cluster stop`, a Docker restart, or
 * a load balancer container stopped by hand): the cluster must be started, not re-created. A
 * stopped load balancer alone cuts off every port mapping although `serversRunning` looks fine.
 */
export function stoppedNodes(entry: K3dClusterEntry): string[] {
  return (entry.nodes ?? [])
    .filter((node) => node.State?.Running === false)
    .map((node) => node.name ?? `its ${node.role ?? 'unnamed'} node`);
}

/**
 * Configured host → container port pairs the existing cluster does not publish, as human-readable
 * lines. k3d v5 proxies `@server:0` mappings through the load balancer, so every node's mappings
 * count; mappings the configuration does not mention (the Kubernetes API port) are ignored.
 */
export function portMappingDrift(cluster: ClusterConfig, entry: K3dClusterEntry): string[] {
  const published = new Map<number, Set<number>>();
  for (const node of entry.nodes ?? []) {
    for (const [containerPort, bindings] of Object.entries(node.portMappings ?? {})) {
      const container = Number.parseInt(containerPort, 10);
      for (const binding of bindings ?? []) {
        const host = Number(binding.HostPort);
        if (!published.has(host)) published.set(host, new Set());
        published.get(host)!.add(container);
      }
    }
  }
  const { http, https, nats } = cluster.ports;
  const wanted: Array<[string, number, number]> = [
    ['cluster.ports.http', http.host, http.container],
    ['cluster.ports.https', https.host, https.container],
    ['cluster.ports.nats', nats.host, nats.nodePort],
  ];
  return wanted
    .filter(([, host, container]) => !published.get(host)?.has(container))
    .map(([field, host, container]) => {
      const actual = [...(published.get(host) ?? [])];
      return `${field}: want host ${host} → ${container}, cluster has ${actual.length ? `host ${host} → ${actual.join(', ')}` : `nothing on host ${host}`}`;
    });
}

/**
 * The configured number of agents, when the existing cluster has another: up does not add or remove
 * nodes of a cluster it reuses, and with fewer nodes than NATS servers some servers share a node.
 */
export function agentDrift(cluster: ClusterConfig, entry: K3dClusterEntry): string[] {
  const actual = entry.agentsCount ?? 0;
  return actual === cluster.agents ? [] : [`cluster.agents: want ${cluster.agents} agent(s), cluster has ${actual}`];
}
