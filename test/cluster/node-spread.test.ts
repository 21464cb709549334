import { parseConfig } from '../../lib/config/config';
import { natsChartObjects } from '../../lib/nats/chart';
import { natsPodSelector } from '../../lib/nats/chart';
import { natsNodeSpread, type TopologySpreadConstraint } from '../../lib/nats/values';
import { startControlPlane, type ControlPlane } from '../support/control-plane';

/**
 * The spread the Helm values give a NATS cluster (nats.replicas: 3), under the real kube-scheduler
 * 1.36 with KWOK nodes. The StatefulSet is shaped like the chart's (its name, the server-pod labels,
 * Parallel pod management) and its pod template carries the constraint the chart renders from our
 * values, natsNodeSpread. KWOK runs no containers, so each server asks for a CPU and 4Gi only to
 * give the scheduler's resource scoring something to weigh.
 */
const config = parseConfig({ nats: { replicas: 3 } });
const podSelector = natsPodSelector(config.nats.release, config.nats.chart.name);
const SPREAD = natsNodeSpread(podSelector);
const NAME = natsChartObjects(config.nats.release).statefulSet;
const SERVERS = config.nats.replicas;

interface Workload { readonly name: string; readonly namespace: string; readonly labels: Readonly<Record<string, string>> }
const NATS: Workload = { name: NAME, namespace: config.nats.namespace, labels: podSelector };

function statefulSet(workload: Workload, constraints: readonly TopologySpreadConstraint[]): object {
  return {
    apiVersion: 'apps/v1', kind: 'StatefulSet', metadata: { name: workload.name, namespace: workload.namespace },
    spec: {
      replicas: SERVERS, serviceName: `${workload.name}-headless`, podManagementPolicy: 'Parallel',
      selector: { matchLabels: workload.labels },
      template: {
        metadata: { labels: workload.labels },
        spec: {
          topologySpreadConstraints: constraints,
          containers: [{ name: 'nats', image: 'nats:2.14.2-alpine', resources: { requests: { cpu: '1', memory: '4Gi' } } }],
        },
      },
    },
  };
}

interface PodState { readonly node?: string; readonly phase?: string; readonly unschedulable: boolean }

async function pods(plane: ControlPlane, workload: Workload): Promise<PodState[]> {
  const selector = Object.entries(workload.labels).map(([key, value]) => `${key}=${value}`).join(',');
  const list = JSON.parse(await plane.kubectl(['get', 'pods', '-n', workload.namespace, '-l', selector, '-o', 'json']));
  return list.items.map((pod: any) => ({
    node: pod.spec.nodeName,
    phase: pod.status?.phase,
    unschedulable: (pod.status?.conditions ?? []).some((c: any) => c.type === 'PodScheduled' && c.reason === 'Unschedulable'),
  }));
}

/** The workload's pods once each is Running or found unschedulable by the scheduler (60 s at most). */
async function settled(plane: ControlPlane, workload: Workload): Promise<PodState[]> {
  const deadline = Date.now() + 60_000;
  for (;;) {
    const now = await pods(plane, workload);
    if (now.length === SERVERS && now.every((pod) => pod.phase === 'Running' || pod.unschedulable)) return now;
    if (Date.now() > deadline) throw new Error(`${workload.name}: pods not settled after 60 s: ${JSON.stringify(now)}\n${plane.logs('kube-scheduler').slice(-2000)}`);
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

async function deploy(plane: ControlPlane, workload: Workload, constraints: readonly TopologySpreadConstraint[]): Promise<PodState[]> {
  await plane.kubectl(['apply', '-f', '-'], JSON.stringify(statefulSet(workload, constraints)));
  try {
    return await settled(plane, workload);
  } finally {
    // Foreground: the pods are gone before the next workload with the same labels is counted.
    await plane.kubectl(['delete', 'statefulset', workload.name, '-n', workload.namespace, '--cascade=foreground', '--wait', '--timeout=60s']);
  }
}

const nodesUsed = (states: readonly PodState[]): number => new Set(states.map((pod) => pod.node)).size;
const running = (states: readonly PodState[]): number => states.filter((pod) => pod.phase === 'Running').length;

describe('three KWOK nodes', () => {
  let plane: ControlPlane | undefined;
  beforeAll(async () => {
    plane = await startControlPlane({ nodes: 3 });
    await plane.kubectl(['create', 'namespace', NATS.namespace]);
  }, 200_000);
  afterAll(async () => plane?.stop(), 30_000);

  test('the three servers land on three nodes, although resource scoring alone pairs two on the idle node', async () => {
    // GIVEN node-1 and node-2 busy with a workload of 6.5 CPU and 26Gi each, node-0 idle
    const busy = ['node-1', 'node-2'].map((node) => ({
      apiVersion: 'v1', kind: 'Pod', metadata: { name: `busy-${node}`, namespace: 'default' },
      spec: { nodeName: node, containers: [{ name: 'busy', image: 'busy', resources: { requests: { cpu: '6500m', memory: '26Gi' } } }] },
    }));
    await plane!.kubectl(['apply', '-f', '-'], JSON.stringify({ apiVersion: 'v1', kind: 'List', items: busy }));
    try {
      // WHEN three servers without the spread are scheduled THEN two share node-0: the scenario needs the spread
      const unspread = await deploy(plane!, { name: 'unspread', namespace: NATS.namespace, labels: { app: 'unspread' } }, []);
      expect([running(unspread), nodesUsed(unspread)]).toEqual([3, 2]);
      // WHEN the servers carry the constraint our values give the chart THEN each has a node of its own
      const spread = await deploy(plane!, NATS, [SPREAD]);
      expect([running(spread), nodesUsed(spread)]).toEqual([3, 3]);
    } finally {
      await plane!.kubectl(['delete', 'pod', 'busy-node-1', 'busy-node-2', '-n', 'default', '--wait', '--timeout=60s']);
    }
  }, 150_000);

  test('with a node that takes no pods (cordoned, or NotReady once its container stops), every server still runs', async () => {
    // GIVEN node-2 cordoned: it still counts as a node with no server
    await plane!.kubectl(['cordon', 'node-2']);
    try {
      // WHEN the servers are scheduled THEN all run, two sharing a node
      const spread = await deploy(plane!, NATS, [SPREAD]);
      expect([running(spread), nodesUsed(spread)]).toEqual([3, 2]);
      // ... where DoNotSchedule would leave the third Pending
      const strict = await deploy(plane!, NATS, [{ ...SPREAD, whenUnsatisfiable: 'DoNotSchedule' }]);
      expect([running(strict), strict.filter((pod) => pod.unschedulable).length]).toEqual([2, 1]);
    } finally {
      await plane!.kubectl(['uncordon', 'node-2']);
    }
  }, 150_000);
});

// One node is one topology domain: a spread places every server there, where a required
// anti-affinity by hostname would leave all but one Pending.
describe('one KWOK node, as on a laptop cluster without agents', () => {
  let plane: ControlPlane | undefined;
  beforeAll(async () => {
    plane = await startControlPlane({ nodes: 1 });
    await plane.kubectl(['create', 'namespace', NATS.namespace]);
  }, 200_000);
  afterAll(async () => plane?.stop(), 30_000);

  test('every server is scheduled and runs on the one node', async () => {
    const spread = await deploy(plane!, NATS, [SPREAD]);
    expect(spread.map((pod) => [pod.node, pod.phase])).toEqual(Array(SERVERS).fill(['node-0', 'Running']));
  }, 90_000);
});
