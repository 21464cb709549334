import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, existsSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:https';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { runCommand, type RunResult } from '../../lib/deploy/run-command';
import { BIN_DIR } from '../tools/build';
import { testTool } from './tools';

/**
 * A real Kubernetes control plane for one test file, built from test/tools/kubernetes, etcd and kwok:
 * etcd, kube-apiserver, kube-controller-manager and kube-scheduler as a cluster runs them, with KWOK
 * in place of the kubelet (test/support/kwok-stages.yaml: nodes Ready, scheduled pods Running and
 * Ready), so Deployments and StatefulSets really roll out. Everything listens on 127.0.0.1 at ports
 * chosen at start, keeps its data in a fresh folder, and is reached through a kubeconfig in that
 * folder — never the user's ~/.kube/config. `stop()` ends every process it started; so does the end
 * of the test process, and a killed test process takes its children with it (parent-death signal).
 */

export interface ControlPlaneOptions {
  /**
   * How many KWOK nodes to create, named `node-0`, `node-1`, …
   * @default 1
   */
  readonly nodes?: number;
  /**
   * A PersistentVolume of this size per name, for a StorageClass `local-path` (k3s's default class,
   * marked default here too) — what k3s's local-path provisioner would create on demand.
   * @default none
   */
  readonly volumes?: { readonly names: readonly string[]; readonly size: string };
}

export interface ControlPlane {
  readonly dir: string;
  /** The kubeconfig file; its one context is `CONTEXT`. */
  readonly kubeconfig: string;
  readonly context: string;
  /** https://127.0.0.1:<port> */
  readonly server: string;
  /** An environment in which `kubectl` (1.36, first on PATH) talks to this control plane and reads nothing of the user's. */
  readonly env: NodeJS.ProcessEnv;
  /** Runs the real kubectl against this control plane (no stdin, 60 s); throws on a non-zero exit. */
  kubectl(args: readonly string[], input?: string): Promise<string>;
  /** Runs kubectl and returns the result, whatever its exit code. */
  kubectlResult(args: readonly string[]): Promise<RunResult>;
  /** What a component logged, for a failure message. */
  logs(component: Component): string;
  stop(): Promise<void>;
}

export const CONTEXT = 'test-control-plane';
type Component = 'etcd' | 'kube-apiserver' | 'kube-controller-manager' | 'kube-scheduler' | 'kwok';

/**
 * Controllers the project's objects need (Deployments, StatefulSets, Jobs, PDBs, PVCs, namespaces,
 * service accounts). Not the node lifecycle controller: it would mark KWOK's nodes NotReady when a
 * heartbeat comes late on a busy machine, and taint them so nothing schedules; startControlPlane
 * lifts the not-ready taint new Nodes get at admission (TaintNodesByCondition) itself, once.
 */
const CONTROLLERS = [
  'deployment-controller', 'replicaset-controller', 'statefulset-controller', 'job-controller', 'disruption-controller',
  'namespace-controller', 'garbage-collector-controller', 'serviceaccount-controller', 'serviceaccount-token-controller',
  'endpointslice-controller', 'persistentvolume-binder-controller', 'persistentvolumeclaim-protection-controller',
  'persistentvolume-protection-controller', 'pod-garbage-collector-controller', 'root-ca-certificate-publisher-controller',
];

const START_SECONDS = 180;
const HOST = '127.0.0.1';

const running = new Set<ChildProcess>();
process.on('exit', () => {
  for (const child of running) child.kill('SIGKILL');
});


function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, HOST, () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

async function openssl(args: readonly string[], cwd: string): Promise<void> {
  const result = await runCommand('openssl', args, { cwd, timeoutMs: 30_000 });
  if (result.code !== 0) throw new Error(`openssl ${args.join(' ')} failed: ${result.stderr.trim()}`);
}

/** A CA, the API server's serving pair, the admin's client pair (group system:masters) and the service-account key. */
async function writeCertificates(dir: string): Promise<void> {
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-days', '2'];
  await openssl(['req', '-x509', ...ec, '-keyout', 'ca.key', '-out', 'ca.crt', '-subj', '/CN=test-control-plane-ca'], dir);
  writeFileSync(join(dir, 'serving.ext'), 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n');
  writeFileSync(join(dir, 'client.ext'), 'extendedKeyUsage=clientAuth\n');
  for (const [name, subject, ext] of [['serving', '/CN=kube-apiserver', 'serving.ext'], ['admin', '/O=system:masters/CN=admin', 'client.ext']]) {
    await openssl(['req', ...ec.slice(0, 5), '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', subject], dir);
    await openssl(['x509', '-req', '-in', `${name}.csr`, '-CA', 'ca.crt', '-CAkey', 'ca.key', '-CAcreateserial', '-days', '2', '-extfile', ext, '-out', `${name}.crt`], dir);
  }
  await openssl(['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', 'sa.key'], dir);
  await openssl(['pkey', '-in', 'sa.key', '-pubout', '-out', 'sa.pub'], dir);
}

function kubeconfigText(dir: string, server: string): string {
  const b64 = (file: string) => readFileSync(join(dir, file)).toString('base64');
  return [
    'apiVersion: v1', 'kind: Config', `current-context: ${CONTEXT}`,
    'clusters:', `- name: ${CONTEXT}`, '  cluster:', `    server: ${server}`, `    certificate-authority-data: ${b64('ca.crt')}`,
    'users:', '- name: admin', '  user:', `    client-certificate-data: ${b64('admin.crt')}`, `    client-key-data: ${b64('admin.key')}`,
    'contexts:', `- name: ${CONTEXT}`, '  context:', `    cluster: ${CONTEXT}`, '    user: admin', '',
  ].join('\n');
}

/** Resolves once `check` passes (the API server's /readyz, etcd's /health); rejects when the component exits or the deadline passes. */
async function waitUntilReady(what: string, check: () => Promise<boolean>, deadline: number, child: ChildProcess, log: () => string): Promise<void> {
  for (;;) {
    if (child.exitCode !== null || child.signalCode !== null) throw new Error(`${what} exited (${child.exitCode ?? child.signalCode}):\n${log().slice(-3000)}`);
    if (await check().catch(() => false)) return;
    if (Date.now() > deadline) throw new Error(`${what} not ready after ${START_SECONDS} s:\n${log().slice(-3000)}`);
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

const httpsOk = (url: string, dir: string): Promise<boolean> => new Promise((resolve) => {
  const req = request(url, {
    ca: readFileSync(join(dir, 'ca.crt')), cert: readFileSync(join(dir, 'admin.crt')), key: readFileSync(join(dir, 'admin.key')), timeout: 2000,
  }, (res) => {
    res.resume();
    resolve(res.statusCode === 200);
  });
  req.on('error', () => resolve(false));
  req.on('timeout', () => req.destroy());
  req.end();
});

const httpOk = async (url: string): Promise<boolean> => (await fetch(url, { signal: AbortSignal.timeout(2000) })).ok;

export async function startControlPlane(options: ControlPlaneOptions = {}): Promise<ControlPlane> {
  const { nodes = 1, volumes } = options;
  const modules = { etcd: 'etcd', 'kube-apiserver': 'kubernetes', 'kube-controller-manager': 'kubernetes', 'kube-scheduler': 'kubernetes', kwok: 'kwok', kubectl: 'kubernetes' };
  const binaries = Object.fromEntries(Object.entries(modules).map(([name, module]) => [name, testTool(name, module)])) as Record<Component | 'kubectl', string>;
  const dir = mkdtempSync(join(tmpdir(), 'k3s-nats-tls-control-plane-'));
  const children: ChildProcess[] = [];
  const logFiles = new Map<Component, string>();
  const env: NodeJS.ProcessEnv = {
    PATH: `${BIN_DIR}${delimiter}${process.env.PATH ?? ''}`, HOME: dir, KUBECONFIG: join(dir, 'kubeconfig'), LANG: 'C',
  };

  const start = (component: Component, args: string[]): ChildProcess => {
    const logFile = join(dir, `${component}.log`);
    logFiles.set(component, logFile);
    const fd = openSync(logFile, 'a');
    // setpriv's parent-death signal: if the test process dies without running its exit handlers, the component dies with it.
    const child = spawn('setpriv', ['--pdeathsig', 'KILL', '--', binaries[component], ...args], { cwd: dir, env, stdio: ['ignore', fd, fd] });
    closeSync(fd);
    running.add(child);
    child.once('exit', () => running.delete(child));
    children.push(child);
    return child;
  };
  const logs = (component: Component): string => {
    const file = logFiles.get(component);
    return file && existsSync(file) ? readFileSync(file, 'utf8') : '';
  };

  const stop = async (): Promise<void> => {
    await Promise.all(children.reverse().map((child) => new Promise<void>((resolve) => {
      if (child.exitCode !== null || child.signalCode !== null) return resolve();
      const kill = setTimeout(() => child.kill('SIGKILL'), 5000);
      child.once('exit', () => {
        clearTimeout(kill);
        resolve();
      });
      child.kill('SIGTERM');
    })));
    rmSync(dir, { recursive: true, force: true });
  };

  try {
    const deadline = Date.now() + START_SECONDS * 1000;
    await writeCertificates(dir);
    const [etcdClient, etcdPeer, apiPort] = [await freePort(), await freePort(), await freePort()];
    const etcdUrl = `http://${HOST}:${etcdClient}`;
    const etcd = start('etcd', [
      `--data-dir=${join(dir, 'etcd')}`, `--listen-client-urls=${etcdUrl}`, `--advertise-client-urls=${etcdUrl}`,
      `--listen-peer-urls=http://${HOST}:${etcdPeer}`, `--initial-advertise-peer-urls=http://${HOST}:${etcdPeer}`,
      `--initial-cluster=default=http://${HOST}:${etcdPeer}`, '--unsafe-no-fsync', '--log-level=warn',
    ]);
    await waitUntilReady('etcd', () => httpOk(`${etcdUrl}/health`), deadline, etcd, () => logs('etcd'));

    const server = `https://${HOST}:${apiPort}`;
    const apiserver = start('kube-apiserver', [
      `--etcd-servers=${etcdUrl}`, `--cert-dir=${join(dir, 'apiserver')}`, `--secure-port=${apiPort}`, `--bind-address=${HOST}`,
      `--advertise-address=${HOST}`, '--service-cluster-ip-range=10.0.0.0/24', '--allow-privileged=true', '--authorization-mode=RBAC',
      '--service-account-issuer=https://kubernetes.default.svc.cluster.local', `--service-account-key-file=${join(dir, 'sa.pub')}`,
      `--service-account-signing-key-file=${join(dir, 'sa.key')}`, `--client-ca-file=${join(dir, 'ca.crt')}`,
      `--tls-cert-file=${join(dir, 'serving.crt')}`, `--tls-private-key-file=${join(dir, 'serving.key')}`,
    ]);
    writeFileSync(env.KUBECONFIG!, kubeconfigText(dir, server), { mode: 0o600 });
    await waitUntilReady('kube-apiserver', () => httpsOk(`${server}/readyz`, dir), deadline, apiserver, () => logs('kube-apiserver'));

    const kubeconfigFlag = `--kubeconfig=${env.KUBECONFIG}`;
    start('kube-controller-manager', [
      kubeconfigFlag, '--leader-elect=false', '--secure-port=0', `--controllers=${CONTROLLERS.join(',')}`,
      `--service-account-private-key-file=${join(dir, 'sa.key')}`, `--root-ca-file=${join(dir, 'ca.crt')}`,
    ]);
    start('kube-scheduler', [kubeconfigFlag, '--leader-elect=false', '--secure-port=0']);
    start('kwok', [kubeconfigFlag, '--manage-all-nodes=true', `--config=${join(__dirname, 'kwok-stages.yaml')}`]);

    const kubectlResult = (args: readonly string[], input?: string): Promise<RunResult> => {
      if (input === undefined) return runCommand(binaries.kubectl, [`--context=${CONTEXT}`, ...args], { env, cwd: dir, timeoutMs: 60_000 });
      const file = join(dir, `input-${Date.now()}-${Math.random().toString(16).slice(2)}.yaml`);
      writeFileSync(file, input);
      return runCommand(binaries.kubectl, [`--context=${CONTEXT}`, ...args.map((arg) => (arg === '-' ? file : arg))], { env, cwd: dir, timeoutMs: 60_000 });
    };
    const kubectl = async (args: readonly string[], input?: string): Promise<string> => {
      const result = await kubectlResult(args, input);
      if (result.code !== 0) throw new Error(`kubectl ${args.join(' ')} failed (${result.code}): ${result.stderr.trim()}`);
      return result.stdout;
    };

    const nodeObjects = Array.from({ length: nodes }, (_, i) => ({
      apiVersion: 'v1', kind: 'Node',
      metadata: { name: `node-${i}`, labels: { 'kubernetes.io/hostname': `node-${i}`, 'kubernetes.io/os': 'linux', type: 'kwok' } },
    }));
    const storage = volumes ? [
      {
        apiVersion: 'storage.k8s.io/v1', kind: 'StorageClass',
        metadata: { name: 'local-path', annotations: { 'storageclass.kubernetes.io/is-default-class': 'true' } },
        provisioner: 'rancher.io/local-path', volumeBindingMode: 'Immediate', reclaimPolicy: 'Delete',
      },
      ...volumes.names.map((name) => ({
        apiVersion: 'v1', kind: 'PersistentVolume', metadata: { name },
        spec: {
          storageClassName: 'local-path', capacity: { storage: volumes.size }, accessModes: ['ReadWriteOnce'],
          persistentVolumeReclaimPolicy: 'Retain', hostPath: { path: `/var/lib/test/${name}` },
        },
      })),
    ] : [];
    await kubectl(['apply', '-f', '-'], JSON.stringify({ apiVersion: 'v1', kind: 'List', items: [...nodeObjects, ...storage] }));
    const waitSeconds = Math.max(10, Math.round((deadline - Date.now()) / 1000));
    await kubectl(['wait', '--for=condition=Ready', 'node', '--all', `--timeout=${waitSeconds}s`]);
    await kubectl(['taint', 'nodes', '--all', 'node.kubernetes.io/not-ready:NoSchedule-']);
    // The service-account controller makes `default` in each namespace; pods cannot be created before it.
    for (;;) {
      if ((await kubectlResult(['get', 'serviceaccount', 'default', '-n', 'default'])).code === 0) break;
      if (Date.now() > deadline) throw new Error(`no default ServiceAccount after ${START_SECONDS} s:\n${logs('kube-controller-manager').slice(-3000)}`);
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
    return { dir, kubeconfig: env.KUBECONFIG!, context: CONTEXT, server, env, kubectl, kubectlResult, logs, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}
