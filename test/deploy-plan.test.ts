import { join } from 'node:path';
import { stringify as stringifyYaml } from 'yaml';
import { parseConfig } from '../lib/config/config';
import { distDir } from '../lib/config/layout';
import { helmChartLookupArgs, leftHelmChart } from '../lib/deploy/helm-controller';
import {
  agentDrift, findK3dCluster, k3dCreateArgs, k3dKubeconfigHint, k3dPortMappings, k3dStartArgs, k3dVersionProblem, portMappingDrift, stoppedNodes,
} from '../lib/deploy/k3d';
import { applyOrder, kubectlArgs, rolloutTargets } from '../lib/deploy/kubectl';
import { downTools, kubectlVersionProblem, upTools } from '../lib/deploy/tool-checks';
import { echoHttpsCommand, natsClientCommands } from '../lib/deploy/user-messages';
import { verifyArgs } from '../lib/driver/up/verify';
import { plannedStack } from '../lib/synth/stack';
import { defaults } from './support/fixtures';

/** `k3d cluster list -o json` of a default cluster, as k3d v5 prints it (every -p on the load balancer). */
const K3D_LIST = JSON.stringify([
  {
    name: 'other', serversCount: 1, serversRunning: 1, agentsCount: 0, agentsRunning: 0,
    nodes: [{ name: 'k3d-other-serverlb', role: 'loadbalancer', portMappings: { '80/tcp': [{ HostIp: '0.0.0.0', HostPort: '9080' }] } }],
  },
  {
    name: 'dev', serversCount: 1, serversRunning: 1, agentsCount: 0, agentsRunning: 0,
    nodes: [
      { name: 'k3d-dev-server-0', role: 'server', State: { Running: true, Status: 'running' }, portMappings: {} },
      {
        name: 'k3d-dev-serverlb', role: 'loadbalancer', State: { Running: true, Status: 'running' },
        portMappings: {
          '80/tcp': [{ HostIp: '0.0.0.0', HostPort: '8080' }],
          '443/tcp': [{ HostIp: '0.0.0.0', HostPort: '8443' }],
          '31400/tcp': [{ HostIp: '0.0.0.0', HostPort: '4222' }],
          '6443/tcp': [{ HostIp: '0.0.0.0', HostPort: '37211' }],
        },
      },
    ],
  },
]);

describe('k3d cluster', () => {
  test('create arguments follow the recipe with k3d v5 node filters and the pinned image', () => {
    // GIVEN the defaults WHEN the create command is built THEN it maps 8080, 8443 and 4222 → NodePort 31400
    // ... and bounds k3d's wait, which has no limit of its own
    expect(k3dCreateArgs(defaults().cluster)).toEqual([
      'cluster', 'create', 'dev', '--image', 'rancher/k3s:v1.36.3-k3s1',
      '-p', '8080:80@loadbalancer', '-p', '8443:443@loadbalancer', '-p', '4222:31400@server:0', '--wait', '--timeout', '300s',
    ]);
    expect(k3dStartArgs('dev')).toEqual(['cluster', 'start', 'dev', '--wait', '--timeout', '300s']);
  });

  test('agents are created with --agents; the port mappings stay those of a one-node cluster', () => {
    // GIVEN two agents WHEN the create command is built THEN k3d makes them, and the mappings are unchanged
    const cluster = parseConfig({ cluster: { agents: 2 } }).cluster;
    expect(k3dCreateArgs(cluster).slice(0, 7)).toEqual(['cluster', 'create', 'dev', '--image', 'rancher/k3s:v1.36.3-k3s1', '--agents', '2']);
    expect(k3dPortMappings(cluster)).toEqual(k3dPortMappings(defaults().cluster));
  });

  test('a running cluster has no stopped nodes', () => {
    expect(stoppedNodes(findK3dCluster(K3D_LIST, 'dev')!)).toEqual([]);
  });

  test('a stopped load balancer needs a start although every server runs', () => {
    // GIVEN k3d's entry after `docker stop k3d-dev-serverlb`: serversRunning still counts 1 of 1
    const entry = findK3dCluster(K3D_LIST, 'dev')!;
    const lbStopped = { ...entry, nodes: entry.nodes!.map((node) => (node.role === 'loadbalancer' ? { ...node, State: { Running: false } } : node)) };
    // THEN the load balancer is named as stopped
    expect(stoppedNodes(lbStopped)).toEqual(['k3d-dev-serverlb']);
  });

  test('after `k3d cluster stop` every node is stopped', () => {
    const entry = findK3dCluster(K3D_LIST, 'dev')!;
    const stopped = { ...entry, serversRunning: 0, nodes: entry.nodes!.map((node) => ({ ...node, State: { Running: false } })) };
    expect(stoppedNodes(stopped)).toEqual(['k3d-dev-server-0', 'k3d-dev-serverlb']);
  });

  test('k3d v5 passes the version check; v4, which rejects `server:0`, and unknown output do not', () => {
    expect(k3dVersionProblem('k3d version v5.8.3\nk3s version v1.31.5-k3s1 (default)\n')).toBeUndefined();
    expect(k3dVersionProblem('k3d version v4.4.8\nk3s version latest (default)\n')).toBe(
      'this is k3d v4.4.8, but the port mappings need k3d v5 (`@server:0`) — install k3d v5 (https://k3d.io/#installation)',
    );
    expect(k3dVersionProblem('Client: Docker Engine\n')).toMatch(/^`k3d version` printed no "k3d version v5.x.y" line \(Client: Docker Engine\) — install k3d v5/);
  });

  test('kubectl 1.27 and later pass up\'s version check; 1.26, whose diff --prune ignores -l, and unknown output do not', () => {
    expect(kubectlVersionProblem('Client Version: v1.32.4\nKustomize Version: v5.5.0\n')).toBeUndefined();
    expect(kubectlVersionProblem('Client Version: v1.27.0\n')).toBeUndefined();
    expect(kubectlVersionProblem('Client Version: v1.26.15\n')).toMatch(/^this is kubectl 1\.26, but up needs 1\.27 or later to prune/);
    expect(kubectlVersionProblem('error: unknown flag: --client\n')).toBe(
      '`kubectl version --client` printed no "Client Version: v1.x.y" line (error: unknown flag: --client)',
    );
    // ... and only up checks it: down deletes files' objects, which any kubectl can
    expect(upTools(false)[0].outputProblem).toBe(kubectlVersionProblem);
    expect(downTools(false)[0].outputProblem).toBeUndefined();
  });

  test('a missing context after create points at the kubeconfig merge', () => {
    expect(k3dKubeconfigHint('dev')).toContain('`k3d kubeconfig merge dev --kubeconfig-merge-default`');
  });

  test('port mappings come from cluster.ports', () => {
    // GIVEN other host ports WHEN mapped THEN each -p uses them
    const cluster = parseConfig({ cluster: { ports: { http: { host: 9080, container: 80 }, nats: { host: 14222, nodePort: 30422 } } } }).cluster;
    expect(k3dPortMappings(cluster)).toEqual(['9080:80@loadbalancer', '8443:443@loadbalancer', '14222:30422@server:0']);
  });

  test('finds the configured cluster in the list, and nothing in an empty one', () => {
    // GIVEN k3d's JSON WHEN searched by name THEN only an exact name matches
    expect(findK3dCluster(K3D_LIST, 'dev')?.name).toBe('dev');
    expect(findK3dCluster(K3D_LIST, 'de')).toBeUndefined();
    expect(findK3dCluster('[]', 'dev')).toBeUndefined();
  });

  test('output that is not a JSON array is an error, not "no cluster"', () => {
    // GIVEN garbage from k3d WHEN parsed THEN we stop rather than create a second cluster
    expect(() => findK3dCluster('NAME SERVERS', 'dev')).toThrow(/did not print JSON/);
    expect(() => findK3dCluster('{}', 'dev')).toThrow(/not print a JSON array/);
  });

  test('an existing cluster with the configured mappings has no drift; extra mappings are ignored', () => {
    // GIVEN the default cluster as k3d lists it (with the API port too) THEN nothing differs
    expect(portMappingDrift(defaults().cluster, findK3dCluster(K3D_LIST, 'dev')!)).toEqual([]);
  });

  test('an existing cluster with another number of agents than configured is reported', () => {
    // GIVEN the default cluster (no agents) and a configuration with two
    const entry = findK3dCluster(K3D_LIST, 'dev')!;
    const twoAgents = parseConfig({ cluster: { agents: 2 } }).cluster;
    // THEN only a difference is named, with what the cluster has
    expect(agentDrift(defaults().cluster, entry)).toEqual([]);
    expect(agentDrift(twoAgents, entry)).toEqual(['cluster.agents: want 2 agent(s), cluster has 0']);
    expect(agentDrift(twoAgents, { ...entry, agentsCount: 2 })).toEqual([]);
    expect(agentDrift(defaults().cluster, { ...entry, agentsCount: 2 })).toEqual(['cluster.agents: want 0 agent(s), cluster has 2']);
  });

  test('a changed host port or NodePort is reported field by field', () => {
    // GIVEN a configuration asking for other ports than the cluster publishes
    const cluster = parseConfig({ cluster: { ports: { http: { host: 9080, container: 80 }, nats: { host: 4222, nodePort: 30422 } } } }).cluster;
    // WHEN compared THEN both differences are named with what the cluster has instead
    expect(portMappingDrift(cluster, findK3dCluster(K3D_LIST, 'dev')!)).toEqual([
      'cluster.ports.http: want host 9080 → 80, cluster has nothing on host 9080',
      'cluster.ports.nats: want host 4222 → 30422, cluster has host 4222 → 31400',
    ]);
  });
});

describe('deploy plan', () => {
  test('tools: docker and k3d only when k3d manages the cluster', () => {
    // GIVEN up/down with and without --context THEN the needed tools differ
    expect(upTools(true).map((t) => t.tool)).toEqual(['docker', 'k3d', 'kubectl', 'helm']);
    expect(upTools(false).map((t) => t.tool)).toEqual(['kubectl', 'helm']);
    expect(downTools(true).map((t) => t.tool)).toEqual(['docker', 'k3d']);
    expect(downTools(false).map((t) => t.tool)).toEqual(['kubectl']);
    expect(upTools(true)[0].probe).toEqual(['info']);
  });

  test('manifests apply in lexical order, the rendered chart last; other files are ignored', () => {
    // GIVEN dist/ as synth leaves it, listed in any order
    const files = ['0003-echo.k8s.yaml', 'helm', '0000-namespaces.k8s.yaml', 'README.md', '0001-nats-tls.k8s.yaml', '0002-nats-access.k8s.yaml'];
    // WHEN ordered THEN namespaces first, the Secret before the chart that mounts it
    expect(applyOrder(files)).toEqual([
      '0000-namespaces.k8s.yaml', '0001-nats-tls.k8s.yaml', '0002-nats-access.k8s.yaml', '0003-echo.k8s.yaml', 'helm/nats.yaml',
    ]);
  });

  test('with nats.install helmchart neither helm nor the rendered chart is used: k3s installs NATS once', () => {
    const files = ['0001-nats-tls.k8s.yaml', '0000-namespaces.k8s.yaml', 'helm'];
    expect(applyOrder(files, 'helmchart')).toEqual(['0000-namespaces.k8s.yaml', '0001-nats-tls.k8s.yaml']);
    expect(upTools(true, 'helmchart').map((t) => t.tool)).toEqual(['docker', 'k3d', 'kubectl']);
    expect(upTools(false, 'template').map((t) => t.tool)).toEqual(['kubectl', 'helm']);
  });

  test('echo over HTTPS is reached by name, trusting the CA in pki.dir, on the configured host port', () => {
    const config = parseConfig({ pki: { dir: 'secrets/pki' }, cluster: { ports: { https: { host: 9443, container: 443 } } } });
    expect(echoHttpsCommand(config, '/project')).toBe('curl --cacert secrets/pki/ca.crt https://localhost:9443');
  });

  test('every kubectl call to the cluster bounds its requests', () => {
    expect(kubectlArgs('k3d-dev', 'apply', '-f', 'x.yaml')).toEqual(['--context', 'k3d-dev', '--request-timeout=30s', 'apply', '-f', 'x.yaml']);
  });

  test('the k3d probe checks the major version', () => {
    const k3d = upTools(true).find((tool) => tool.tool === 'k3d')!;
    expect(k3d.outputProblem?.('k3d version v4.4.8')).toMatch(/k3d v4\.4\.8/);
  });

  test('dist/ is CDK8S_OUTDIR when set, as in main.ts, and always inside the project', () => {
    expect(distDir('/p', {})).toBe('/p/dist');
    expect(distDir('/p', { CDK8S_OUTDIR: 'out' })).toBe('/p/out');
    expect(() => distDir('/p', { CDK8S_OUTDIR: '/tmp/out' }))
      .toThrow("CDK8S_OUTDIR '/tmp/out' must be a path relative to the project folder, not an absolute path.");
    expect(() => distDir('/p', { CDK8S_OUTDIR: '../shared' })).toThrow("CDK8S_OUTDIR '../shared' must stay inside the project folder (no '..').");
    expect(() => distDir('/p', { CDK8S_OUTDIR: '.' })).toThrow('not the project folder itself');
  });

  test('waits for the StatefulSet the chart names after its fullname', () => {
    const targets = rolloutTargets(plannedStack(parseConfig({ nats: { release: 'messaging' } })));
    expect(targets.map((t) => t.resource)).toContain('statefulset/messaging-nats');
  });

  test('rollouts wait for echo and NATS in their namespaces with bounded timeouts', () => {
    expect(rolloutTargets(plannedStack(defaults())).map(({ resource, namespace, timeout }) => [resource, namespace, timeout])).toEqual([
      ['deployment/echo', 'default', '180s'],
      ['statefulset/nats', 'nats', '300s'],
    ]);
  });

  test('the nats CLI commands use our file names: client1 works, client1 without --tlsca and client2 are refused', () => {
    // GIVEN the default identities WHEN the summary commands are built THEN they are the recipe's proof
    // (test/nats-cli.test.ts runs them with the real nats CLI against the real server)
    expect(natsClientCommands(defaults(), '/project')).toEqual([
      {
        identity: 'client1', outcome: 'admitted', note: 'client1: works',
        command: 'nats -s tls://localhost:4222 --tlscert keys/client1.crt --tlskey keys/client1.key --tlsca keys/ca.crt pub say hi',
      },
      {
        identity: 'client1', outcome: 'server-untrusted', note: 'client1 without --tlsca: refused (x509: certificate signed by unknown authority)',
        command: 'nats -s tls://localhost:4222 --tlscert keys/client1.crt --tlskey keys/client1.key pub say hi',
      },
      {
        identity: 'client2', outcome: 'not-authorized', note: 'client2: refused (Authorization Violation)',
        command: 'nats -s tls://localhost:4222 --tlscert keys/client2.crt --tlskey keys/client2.key --tlsca keys/ca.crt pub say hi',
      },
    ]);
  });

  test('one command without --tlsca, for the first authorized identity', () => {
    const config = parseConfig({
      pki: { identities: [{ name: 'guest' }, { name: 'a', email: 'a@example.com', authorized: true }, { name: 'b', email: 'b@example.com', authorized: true }] },
    });
    expect(natsClientCommands(config, '/project').map(({ identity, outcome }) => `${identity} ${outcome}`))
      .toEqual(['guest not-authorized', 'a admitted', 'a server-untrusted', 'b admitted']);
  });

  test('commands follow the configuration: NATS host port and the PKI folder', () => {
    const config = parseConfig({ cluster: { ports: { nats: { host: 14222, nodePort: 31400 } } }, pki: { dir: 'secure/pki' } });
    expect(natsClientCommands(config, '/project')[0].command).toBe(
      `nats -s tls://localhost:14222 --tlscert ${join('secure/pki', 'client1.crt')} --tlskey secure/pki/client1.key --tlsca secure/pki/ca.crt pub say hi`,
    );
    expect(verifyArgs(config, 'secure/pki')).toEqual(['--echo-url', 'http://localhost:8080', '--nats-url', 'tls://localhost:14222', '--keys', 'secure/pki']);
  });
});

describe('a HelmChart left behind when nats.install is template', () => {
  const config = defaults();
  const { nats } = config;
  // The values this configuration gives the chart: what a HelmChart of ours carries as valuesContent.
  const values = plannedStack(config).nats.helmValues;
  const helmChart = (labels: Record<string, string> | undefined, spec: Record<string, string>): string =>
    JSON.stringify({ apiVersion: 'helm.cattle.io/v1', kind: 'HelmChart', metadata: { name: 'nats', namespace: 'kube-system', labels }, spec });
  const OUR_SPEC = {
    chart: 'nats', repo: 'https://nats-io.github.io/k8s/helm/charts/', version: '2.14.2', targetNamespace: 'nats', valuesContent: stringifyYaml(values),
  };
  const OURS = { 'app.kubernetes.io/part-of': 'k3s-nats-tls', 'k3s-nats-tls/instance': 'default' };
  const left = (labels: Record<string, string> | undefined, spec: Record<string, string>) => leftHelmChart(helmChart(labels, spec), nats, 'default', values);

  test('is looked up by the release\'s name in kube-system, printing nothing when there is none', () => {
    expect(helmChartLookupArgs('nats')).toEqual(['-n', 'kube-system', 'get', 'helmcharts.helm.cattle.io/nats', '--ignore-not-found', '-o', 'json']);
    expect(leftHelmChart('', nats, 'default', values)).toEqual({ verdict: 'none' });
  });

  test('this instance\'s goes, wherever it installs', () => {
    expect(left(OURS, OUR_SPEC)).toEqual({ verdict: 'delete', resource: 'helmchart.helm.cattle.io/nats' });
    expect(left(OURS, { ...OUR_SPEC, targetNamespace: 'old' }).verdict).toBe('delete');
  });

  test('one without any labels goes only when it installs exactly our chart, version and values into our namespace', () => {
    expect(left(undefined, OUR_SPEC).verdict).toBe('delete');
    expect(left({}, OUR_SPEC).verdict).toBe('delete');
    // The same values written in another order or style are the same values.
    expect(left(undefined, { ...OUR_SPEC, valuesContent: JSON.stringify(values) }).verdict).toBe('delete');
    for (const change of [
      { repo: 'https://charts.example.com/' }, { chart: 'nats-fork' }, { version: '2.14.1' },
      { valuesContent: stringifyYaml({ ...values, natsBox: { enabled: true } }) }, { valuesContent: '' },
    ]) {
      expect([change, left(undefined, { ...OUR_SPEC, ...change }).verdict]).toEqual([change, 'conflict']);
    }
    // Our repository serves other charts too: one of them installing into our namespace is not ours
    expect(left(undefined, { ...OUR_SPEC, chart: 'nack' })).toMatchObject({ verdict: 'conflict', problem: expect.stringContaining('(chart nack into namespace nats)') });
  });

  test('a label of another tool makes it someone else\'s, even when it installs exactly our chart', () => {
    expect(left({ 'app.kubernetes.io/instance': 'argocd-nats' }, OUR_SPEC).verdict).toBe('conflict');
    // k3s's auto-deploy controller labels the objects it applies from /var/lib/rancher/k3s/server/manifests.
    expect(left({ 'objectset.rio.cattle.io/hash': '0123abcd' }, OUR_SPEC).verdict).toBe('conflict');
  });

  test('another instance\'s, or another app\'s, installing into our namespace stops up; elsewhere it is left alone', () => {
    expect(left({ ...OURS, 'k3s-nats-tls/instance': 'staging' }, OUR_SPEC)).toEqual({
      verdict: 'conflict',
      problem: "the HelmChart kube-system/nats (chart nats into namespace nats) is not this instance's, and k3s would install release nats there " +
        'over the rendering',
      hint: 'if it is left over, delete it (`kubectl -n kube-system delete helmchart.helm.cattle.io/nats`); otherwise choose another nats.release',
    });
    expect(left({ team: 'x' }, { ...OUR_SPEC, targetNamespace: 'elsewhere' })).toEqual({ verdict: 'none' });
  });
});
