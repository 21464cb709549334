import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:https';
import { createServer as createTcpServer, type AddressInfo } from 'node:net';
import { basename, dirname, join } from 'node:path';
import { commandEnvironment } from '../../lib/deploy/command-limits';
import { runCommand, type RunResult } from '../../lib/deploy/run-command';
import { issueCertificates } from '../../lib/pki/issue';
import { generateKeys } from '../../lib/pki/keys';
import { toolPath } from '../tools/build';

/**
 * A Helm chart repository on 127.0.0.1 for the real helm (test/tools/helm): a small chart of our
 * own, named like the NATS chart, packaged by `helm package` and indexed by `helm repo index`, served
 * over HTTPS — the configuration accepts only https:// repositories. Its CA reaches helm through
 * SSL_CERT_FILE, Go's own setting for the roots to trust, so helm's arguments stay exactly up's.
 */

export const HELM = toolPath('helm');

/** Bound on each helm call of the tests: a local repository answers in milliseconds. */
const HELM_SECONDS = 30;

/** Runs the real helm with no stdin and a time limit; fails when the tool was not built. */
export function runHelm(args: readonly string[], options: { cwd: string; env: NodeJS.ProcessEnv }): Promise<RunResult> {
  if (!existsSync(HELM)) throw new Error(`${HELM} is missing: run \`npm run tools -- helm\``);
  return runCommand(HELM, args, { ...options, timeoutMs: HELM_SECONDS * 1000 });
}

/**
 * The chart's templates. Objects are named by the NATS chart's fullname rule (lib/nats/chart.ts),
 * labelled with the chart's version, and the ConfigMap echoes the values the TLS setup rests on,
 * so a test sees which chart version rendered and which values reached it. Its nats.conf holds the
 * users as chart 2.14.2 writes them (toPrettyJson, then <, > and & unescaped, as a block scalar),
 * so a fleet's ConfigMap has the real one's size where it grows.
 */
const TEMPLATES: Record<string, string> = {
  '_helpers.tpl': `{{- define "stand.fullname" -}}
{{- if contains .Chart.Name .Release.Name }}{{ .Release.Name }}{{ else }}{{ printf "%s-%s" .Release.Name .Chart.Name }}{{ end -}}
{{- end -}}
{{- define "stand.selector" -}}
app.kubernetes.io/name: {{ .Chart.Name }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/component: nats
{{- end -}}
{{- define "stand.metadata" -}}
namespace: {{ .Values.namespaceOverride | default .Release.Namespace }}
labels:
  helm.sh/chart: {{ .Chart.Name }}-{{ .Chart.Version }}
  {{- include "stand.selector" . | nindent 2 }}
  app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end -}}
`,
  'config-map.yaml': `apiVersion: v1
kind: ConfigMap
metadata:
  name: {{ include "stand.fullname" . }}-config
  {{- include "stand.metadata" . | nindent 2 }}
data:
  tls.json: {{ .Values.config.nats.tls | toJson | quote }}
  tlsCA.json: {{ .Values.tlsCA | toJson | quote }}
  nats.conf: |
    {{- regexReplaceAll "\\\\\\\\u003e" (regexReplaceAll "\\\\\\\\u003c" (regexReplaceAll "\\\\\\\\u0026" (toPrettyJson (dict "authorization" .Values.config.merge.authorization)) "&") "<") ">" | nindent 4 }}
`,
  // The NATS chart's selector labels, ports and pod template merge: what the NodePort selects, the
  // rollout waits for, and the node spread places (KWOK runs the pods on the test control plane).
  // podTemplate.topologySpreadConstraints is the chart's map of topologyKey → constraint, to which
  // it adds that key and a labelSelector of its server-pod labels (its pod-template.yaml).
  'service.yaml': `apiVersion: v1
kind: Service
metadata:
  name: {{ include "stand.fullname" . }}
  {{- include "stand.metadata" . | nindent 2 }}
spec:
  selector:
    {{- include "stand.selector" . | nindent 4 }}
  ports: [{ name: nats, port: 4222, targetPort: nats }]
`,
  'headless-service.yaml': `apiVersion: v1
kind: Service
metadata:
  name: {{ include "stand.fullname" . }}-headless
  {{- include "stand.metadata" . | nindent 2 }}
spec:
  clusterIP: None
  publishNotReadyAddresses: true
  selector:
    {{- include "stand.selector" . | nindent 4 }}
  ports: [{ name: nats, port: 4222, targetPort: nats }, { name: cluster, port: 6222, targetPort: cluster }]
`,
  'pod-disruption-budget.yaml': `apiVersion: policy/v1
kind: PodDisruptionBudget
metadata:
  name: {{ include "stand.fullname" . }}
  {{- include "stand.metadata" . | nindent 2 }}
spec:
  maxUnavailable: 1
  selector:
    matchLabels:
      {{- include "stand.selector" . | nindent 6 }}
`,
  'stateful-set.yaml': `apiVersion: apps/v1
kind: StatefulSet
metadata:
  name: {{ include "stand.fullname" . }}
  {{- include "stand.metadata" . | nindent 2 }}
spec:
  replicas: {{ if ((.Values.config).cluster).enabled }}{{ .Values.config.cluster.replicas | default 3 }}{{ else }}1{{ end }}
  serviceName: {{ include "stand.fullname" . }}-headless
  podManagementPolicy: Parallel
  selector:
    matchLabels:
      {{- include "stand.selector" . | nindent 6 }}
  template:
    metadata:
      labels:
        {{- include "stand.selector" . | nindent 8 }}
    spec:
      {{- with ((.Values.podTemplate).topologySpreadConstraints) }}
      topologySpreadConstraints:
        {{- range $topologyKey, $constraint := . }}
        - {{ merge (dict "topologyKey" $topologyKey "labelSelector" (dict "matchLabels" (include "stand.selector" $ | fromYaml))) $constraint | toYaml | nindent 10 }}
        {{- end }}
      {{- end }}
      {{- with (((.Values.podTemplate).merge).spec) }}
      {{- toYaml . | nindent 6 }}
      {{- end }}
      containers:
        - name: nats
          image: nats:{{ .Chart.Version }}-alpine
          ports: [{ name: nats, containerPort: 4222 }, { name: cluster, containerPort: 6222 }, { name: monitor, containerPort: 8222 }]
  {{- if ((.Values.config).jetstream).enabled }}
  volumeClaimTemplates:
    - metadata:
        name: {{ include "stand.fullname" . }}-js
      spec:
        accessModes: [ReadWriteOnce]
        resources:
          requests:
            storage: {{ (((.Values.config.jetstream.fileStore).pvc).size) | default "10Gi" }}
        {{- with (((.Values.config.jetstream.fileStore).pvc).storageClassName) }}
        storageClassName: {{ . }}
        {{- end }}
  {{- end }}
`,
  // What --skip-tests must leave out: a test hook, which `helm template` otherwise prints as a plain Pod.
  'tests/request.yaml': `apiVersion: v1
kind: Pod
metadata:
  name: {{ include "stand.fullname" . }}-test-request
  annotations:
    helm.sh/hook: test
spec:
  containers: [{ name: request, image: busybox }]
`,
};

/** Writes the chart's source for `version` under `dir`/<name>/ and returns that folder. */
export function writeChart(dir: string, name: string, version: string): string {
  const chart = join(dir, name);
  mkdirSync(join(chart, 'templates', 'tests'), { recursive: true });
  writeFileSync(join(chart, 'Chart.yaml'),
    `apiVersion: v2\nname: ${name}\nversion: ${version}\ndescription: a stand-in chart of the k3s-nats-tls tests\n`);
  for (const [file, text] of Object.entries(TEMPLATES)) writeFileSync(join(chart, 'templates', file), text);
  return chart;
}

export interface ChartRepo {
  /** https://127.0.0.1:<port>/ */
  readonly url: string;
  /** The CA of the server's certificate, for SSL_CERT_FILE. */
  readonly caFile: string;
  /** Request paths served so far, in order (also those answered 404). */
  readonly requests: string[];
  close(): Promise<void>;
}

async function helmOk(args: readonly string[], cwd: string, home: string): Promise<void> {
  const result = await runHelm(args, { cwd, env: commandEnvironment('helm', process.env, home) });
  if (result.code !== 0) throw new Error(`helm ${args.join(' ')}: ${result.stderr || result.error?.message || `exit ${result.code}`}`);
}

/** A certificate for 127.0.0.1 from a CA made for this repository alone. */
async function serverTls(): Promise<{ ca: string; cert: string; key: string }> {
  const keys = generateKeys(2, { keyType: 'rsa', keyBits: 2048 });
  const { ca, leaves: [leaf] } = await issueCertificates({
    keys, caCommonName: 'k3s-nats-tls test chart repository CA', validityDays: 1, now: new Date(),
    leaves: [{ commonName: '127.0.0.1', dnsNames: [], ips: ['127.0.0.1'], emails: [], usages: ['serverAuth'] }],
  });
  return { ca: ca!.cert, cert: leaf.cert, key: leaf.key };
}

/**
 * Packages chart `name` in each of `versions` into `dir`/repo, indexes it and serves that folder on
 * 127.0.0.1 at a port the system picks. Only the files helm wrote there are served.
 */
export async function serveChartRepo(dir: string, name: string, versions: readonly string[]): Promise<ChartRepo> {
  const repo = join(dir, 'repo');
  const home = join(dir, 'helm-home');
  mkdirSync(repo, { recursive: true });
  for (const version of versions) {
    const source = writeChart(join(dir, 'source', version), name, version);
    await helmOk(['package', source, '--destination', repo], dir, home);
  }
  await helmOk(['repo', 'index', repo], dir, home);
  const tls = await serverTls();
  const caFile = join(dir, 'repo-ca.crt');
  writeFileSync(caFile, tls.ca);

  const files = new Set(readdirSync(repo));
  const requests: string[] = [];
  const server: Server = createServer({ cert: tls.cert, key: tls.key }, (request, response) => {
    const path = new URL(request.url ?? '/', 'https://127.0.0.1').pathname;
    requests.push(path);
    const file = basename(path);
    if (dirname(path) !== '/' || !files.has(file)) {
      response.writeHead(404).end('not found\n');
      return;
    }
    response.writeHead(200, { 'content-type': file.endsWith('.yaml') ? 'text/yaml' : 'application/gzip' }).end(readFileSync(join(repo, file)));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `https://127.0.0.1:${port}/`,
    caFile,
    requests,
    close: () => new Promise((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    }),
  };
}

/** A URL on 127.0.0.1 where nothing listens: a port the system gave out and that was closed again. */
export async function closedPortUrl(): Promise<string> {
  const server = createTcpServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return `https://127.0.0.1:${port}/`;
}
