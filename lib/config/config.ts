import { z } from 'zod';
import { defaultNodePortServiceName, HTTP_ECHO_DEFAULTS, NATS_INSTALLS, NATS_MUTUAL_TLS_DEFAULTS } from '../constructs/defaults';
import {
  DEFAULT_NAMESPACE, DNS_LABEL, DNS_NAME, HELM_RELEASE_MAX_LENGTH, isHostName, isNatsReplicaCount, NATS_REPLICA_CHOICE, NODE_PORT_RANGE, PORT_MAX,
  STORAGE_SIZE, SYSTEM_NAMESPACES, UNPRIVILEGED_PORT_MIN,
} from '../constructs/kubernetes-rules';
import { natsFullname as chartFullname, natsRouteHostnames, natsServiceHostnames as chartServiceHostnames } from '../nats/chart';
import type { ContextsTarget } from '../nats/contexts';
import { subjectProblem } from '../nats/subjects';
import { ConfigError } from '../util/errors';
import { readRegularFile } from '../util/plain-paths';
import { folderValueProblem } from '../util/project-folder';
import { CONFIG_ENV, configFilePath } from './layout';
import { yamlSettings } from './yaml-settings';

/**
 * The single source of truth for the whole stack. Defaults reproduce the recipe — where a construct
 * has a default, it is the construct's — and a user overrides any subset in `k3s-nats-tls.yaml` (or
 * the file named by K3S_NATS_TLS_CONFIG). Each entry point loads it once (lib/config/project.ts)
 * and passes it down; the names and values it accepts follow lib/constructs/kubernetes-rules.ts.
 */

const MAX_AGENTS = 9;

const dnsLabel = (what: string) => z.string().regex(DNS_LABEL,
  `must be a ${what}: lower-case letters, digits and '-', starting and ending with a letter or digit, at most 63 characters`);

const dnsName = z.string().regex(DNS_NAME, "must be a DNS name: lower-case labels of letters, digits and '-', separated by '.'");

const wholeNumber = () => z.number({ invalid_type_error: 'must be a whole number' }).int('must be a whole number');

const port = wholeNumber().min(1, `must be a port number 1–${PORT_MAX}`).max(PORT_MAX, `must be a port number 1–${PORT_MAX}`);

const nodePort = wholeNumber()
  .min(NODE_PORT_RANGE.min, `must be a NodePort within ${NODE_PORT_RANGE.min}–${NODE_PORT_RANGE.max}`)
  .max(NODE_PORT_RANGE.max, `must be a NodePort within ${NODE_PORT_RANGE.min}–${NODE_PORT_RANGE.max}`);

const image = z.string().regex(/^[a-z0-9][a-z0-9._\-/:]*(:[A-Za-z0-9_][A-Za-z0-9._-]{0,127}|@sha256:[a-f0-9]{64})$/,
  "must be an image reference pinned by tag or digest, e.g. 'rancher/k3s:v1.36.3-k3s1' (no ':latest' drift)")
  .refine((ref) => !ref.endsWith(':latest'), "must pin a version tag, not ':latest'");

const PortMapping = z.strictObject({
  host: port,
  container: port,
});

const ClusterConfig = z.strictObject({
  /** k3d cluster name; k3d names the kubectl context `k3d-<name>`. */
  name: dnsLabel('k3d cluster name').default('dev'),
  /** Pinned k3s image, so every machine runs the same Kubernetes. */
  image: image.default('rancher/k3s:v1.36.3-k3s1'),
  /**
   * k3s agent nodes beside the one server (k3d `--agents`): with nats.replicas > 1 the NATS servers
   * spread over the nodes, so one node's container going down takes one NATS server, not all.
   */
  agents: wholeNumber().min(0, 'must be 0 or more agent nodes').max(MAX_AGENTS,
    `must be at most ${MAX_AGENTS}: every agent is a k3s container on this machine`).default(0),
  ports: z.strictObject({
    /** Host port → Traefik's web entrypoint on the k3d load balancer. */
    http: PortMapping.default({ host: 8080, container: 80 }),
    /** Host port → Traefik's websecure entrypoint on the k3d load balancer. */
    https: PortMapping.default({ host: 8443, container: 443 }),
    /** Host port → the NATS NodePort on the first server node. */
    nats: z.strictObject({
      host: port.default(4222),
      nodePort: nodePort.default(31400),
    }).default({}),
  }).default({}),
});

const namespace = dnsLabel('namespace name').refine((name) => !SYSTEM_NAMESPACES.includes(name),
  `must not be a namespace of Kubernetes itself (${SYSTEM_NAMESPACES.join(', ')}): choose one of your own`);

const EchoConfig = z.strictObject({
  namespace: namespace.default(DEFAULT_NAMESPACE),
  name: dnsLabel('Kubernetes object name').default(HTTP_ECHO_DEFAULTS.name),
  image: image.default(HTTP_ECHO_DEFAULTS.image),
  text: z.string().trim().min(1, 'must not be empty: it is what http://localhost:<port>/ answers')
    .default('Hello from echo'),
  /** Port http-echo listens on; unprivileged, so the container runs as a non-root user. */
  containerPort: port.min(UNPRIVILEGED_PORT_MIN, `must be ≥ ${UNPRIVILEGED_PORT_MIN}: the container runs as a non-root user`)
    .default(HTTP_ECHO_DEFAULTS.containerPort),
  servicePort: port.default(HTTP_ECHO_DEFAULTS.servicePort),
  /**
   * Numeric UID, so the kubelet can check runAsNonRoot before the container starts. The image is
   * distroless `static:nonroot`, whose user is 65532: the default keeps the file ownership it expects.
   */
  runAsUser: wholeNumber().min(1, 'must be a non-root UID (≥ 1)').default(HTTP_ECHO_DEFAULTS.runAsUser),
  /** HTTPS on Traefik's websecure entry point, with a certificate from our CA; plain HTTP keeps working. */
  tls: z.strictObject({
    /** The certificate's names: DNS names and IP addresses clients reach echo by. */
    hosts: z.array(z.string().refine(isHostName,
      'must be a DNS name (lower-case labels of letters, digits and \'-\') or an IP address'))
      .min(1, 'must name at least one host: the certificate needs a name').default(['localhost', '127.0.0.1']),
    /** The kubernetes.io/tls Secret Traefik serves the certificate from. */
    secretName: dnsLabel('Secret name').default('echo-tls'),
  }).default({}),
});

/**
 * A chart name as Helm accepts one (helm v3 pkg/chartutil: letters, digits, '.', '_' and '-', at most
 * 250), starting with a letter or digit: helm reads a name starting with '.' as a local path and one
 * starting with '-' as a flag, and the name reaches its command line, the certificate SANs and the
 * NodePort selector.
 */
const CHART_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,249}$/;

/** An exact SemVer 2.0 version (no range, no leading zeros) of major 1 or 2, the chart schema lib/nats/values.ts types. */
const SEMVER_NUMBER = '(0|[1-9]\\d*)';
const SEMVER_PRERELEASE = '(0|[1-9]\\d*|\\d*[A-Za-z-][0-9A-Za-z-]*)';
const SEMVER_BUILD = '[0-9A-Za-z-]+';
const CHART_VERSION = new RegExp(`^[12]\\.${SEMVER_NUMBER}\\.${SEMVER_NUMBER}` +
  `(-${SEMVER_PRERELEASE}(\\.${SEMVER_PRERELEASE})*)?(\\+${SEMVER_BUILD}(\\.${SEMVER_BUILD})*)?$`);

/** Why `repo` cannot be `helm template --repo`, or undefined: helm reads index.yaml from an http(s) chart repository. */
function chartRepoProblem(repo: string): string | undefined {
  if (repo.startsWith('oci://')) {
    return 'must be an http:// or https:// chart repository: helm template --repo reads an index.yaml and cannot read an oci:// registry';
  }
  let url: URL;
  try {
    url = new URL(repo);
  } catch {
    return 'must be an http:// or https:// chart repository URL';
  }
  if ((url.protocol !== 'https:' && url.protocol !== 'http:') || /\s/.test(repo)) return 'must be an http:// or https:// chart repository URL';
  if (url.username || url.password) return 'must not carry credentials: the URL is written into dist/, which is committed';
  return undefined;
}

const ChartRef = z.strictObject({
  name: z.string().regex(CHART_NAME, "must be a Helm chart name: letters, digits, '.', '_' and '-', starting with a letter or digit, " +
    'at most 250 characters').default(NATS_MUTUAL_TLS_DEFAULTS.chart.name),
  version: z.string().regex(CHART_VERSION,
    'must be an exact 1.x or 2.x chart version in SemVer (e.g. 2.14.2): the typed values in lib/nats/values.ts follow that schema')
    .default(NATS_MUTUAL_TLS_DEFAULTS.chart.version),
  repo: z.string().superRefine((repo, ctx) => {
    const problem = chartRepoProblem(repo);
    if (problem) ctx.addIssue({ code: z.ZodIssueCode.custom, message: `${problem} (got ${JSON.stringify(repo)})` });
  }).default(NATS_MUTUAL_TLS_DEFAULTS.chart.repo),
});

const NatsConfig = z.strictObject({
  namespace: namespace.default(NATS_MUTUAL_TLS_DEFAULTS.namespace),
  /** Helm release name: it names the chart's Service and labels its pods. */
  release: dnsLabel('Helm release name').refine((name) => name.length <= HELM_RELEASE_MAX_LENGTH,
    `must be at most ${HELM_RELEASE_MAX_LENGTH} characters (Helm's limit for release names)`)
    .default(NATS_MUTUAL_TLS_DEFAULTS.release),
  chart: ChartRef.default({}),
  tlsSecretName: dnsLabel('Secret name').default(NATS_MUTUAL_TLS_DEFAULTS.secretName),
  /** 1 = the recipe's single server; 3 or 5 = a cluster whose servers route to each other over mutual TLS. */
  replicas: wholeNumber().refine(isNatsReplicaCount,
    `must be ${NATS_REPLICA_CHOICE}: a cluster needs an odd number of servers for a quorum (JetStream needs a majority), and more than 5 only adds latency`)
    .default(NATS_MUTUAL_TLS_DEFAULTS.replicas),
  /** The Secret holding the route certificate (cluster.tls), when replicas > 1. */
  routeTlsSecretName: dnsLabel('Secret name').default(NATS_MUTUAL_TLS_DEFAULTS.routeSecretName),
  jetstream: z.strictObject({
    /** JetStream with file storage on a PersistentVolumeClaim per server (k3s: the local-path storage class). */
    enabled: z.boolean().default(false),
    /** Size of each server's volume, as Kubernetes writes quantities. */
    storage: z.string().regex(STORAGE_SIZE, 'must be a size such as 512Mi, 1Gi or 10Gi').default('1Gi'),
  }).default({}),
  nodePortServiceName: dnsLabel('Service name').default(defaultNodePortServiceName(NATS_MUTUAL_TLS_DEFAULTS.release)),
  clientPort: port.default(NATS_MUTUAL_TLS_DEFAULTS.clientPort),
  /**
   * Who installs the chart: `template` = the deploy script renders it with `helm template` and applies
   * the result; `helmchart` = dist/ carries a k3s HelmChart object and k3s's helm controller installs it.
   */
  install: z.enum(NATS_INSTALLS, { errorMap: () => ({ message: `must be ${NATS_INSTALLS.map((install) => `'${install}'`).join(' or ')}` }) })
    .default(NATS_MUTUAL_TLS_DEFAULTS.install),
});

const subject = z.string().superRefine((value, ctx) => {
  const problem = subjectProblem(value);
  if (problem) ctx.addIssue({ code: z.ZodIssueCode.custom, message: `subject ${JSON.stringify(value)} ${problem}` });
});

/** Allow and deny lists in NATS's own terms; a deny wins over an allow. */
const SubjectRules = z.strictObject({
  allow: z.array(subject).optional(),
  deny: z.array(subject).optional(),
});

/** NATS user permissions (nats.conf `permissions {}`); absent = everything, as in the recipe. */
const Permissions = z.strictObject({
  publish: SubjectRules.optional(),
  subscribe: SubjectRules.optional(),
  /** Lets the user publish replies to requests it received, whatever `publish` says. */
  allow_responses: z.boolean().optional(),
});

const Identity = z.strictObject({
  /** Certificate subject CN and file stem: keys/<name>.crt, keys/<name>.key. */
  name: dnsLabel('identity name (it names keys/<name>.crt)'),
  /** verify_and_map maps this email SAN to a NATS user. */
  email: z.string().email('must be an email address, e.g. client1@example.com').optional(),
  /** Listed in the server's authorization users, so its certificate is admitted. */
  authorized: z.boolean().default(false),
  /**
   * What the user may publish and subscribe to; absent = everything. Kept while `authorized` is false
   * (revoking and authorizing again is one edit), but only authorized identities become NATS users.
   */
  permissions: Permissions.optional(),
});

const ipAddress = z.string().ip('must be an IPv4 or IPv6 address');

const DEFAULT_KEY_BITS = 2048;

const PkiConfig = z.strictObject({
  /** Where certificates and keys live: a folder inside the project, which the PKI makes private and git-ignored. */
  dir: z.string().superRefine((dir, ctx) => {
    const problem = folderValueProblem(dir);
    if (problem) ctx.addIssue({ code: z.ZodIssueCode.custom, message: `${problem} (got ${JSON.stringify(dir)})` });
  }).default('keys'),
  validityDays: wholeNumber().min(1, 'must be at least 1 day').max(3650, 'must be at most 3650 days').default(1000),
  /** A leaf certificate this close to expiry is re-issued. */
  renewWithinDays: wholeNumber().min(0, 'must be 0 or more days').default(30),
  /** RSA 2048 as the recipe's; ECDSA P-256 keys are cheaper by far to make, which a fleet of identities notices. */
  keyType: z.enum(['rsa', 'ecdsa'], { errorMap: () => ({ message: "must be 'rsa' or 'ecdsa'" }) }).default('rsa'),
  /** The RSA modulus; ECDSA keys are always P-256. */
  keyBits: z.union([z.literal(2048), z.literal(3072), z.literal(4096)], { errorMap: () => ({ message: 'must be 2048, 3072 or 4096' }) }).default(DEFAULT_KEY_BITS),
  server: z.strictObject({
    /** Names beyond localhost, 127.0.0.1 and the in-cluster Service names, e.g. a LAN hostname. */
    extraDnsNames: z.array(dnsName).default([]),
    extraIps: z.array(ipAddress).default([]),
  }).default({}),
  identities: z.array(Identity).min(1, 'must list at least one client identity').default([
    { name: 'client1', email: 'client1@example.com', authorized: true },
    { name: 'client2', authorized: false },
  ]),
});

const RESERVED_IDENTITY_NAMES = ['ca', 'server', 'route', 'echo'];

export const ConfigSchema = z.strictObject({
  /**
   * Which deployment of this project the objects belong to (their label `k3s-nats-tls/instance`):
   * `up` prunes only its own instance's objects, so deployments sharing a cluster need their own.
   */
  instance: dnsLabel('name for this deployment').default('default'),
  cluster: ClusterConfig.default({}),
  echo: EchoConfig.default({}),
  nats: NatsConfig.default({}),
  pki: PkiConfig.default({}),
}).superRefine((config, ctx) => {
  const hostPorts = new Map<number, string>();
  for (const [mapping, { host }] of Object.entries(config.cluster.ports)) {
    const other = hostPorts.get(host);
    if (other) {
      ctx.addIssue({
        code: z.ZodIssueCode.custom, path: ['cluster', 'ports', mapping, 'host'],
        message: `host port ${host} is already used by cluster.ports.${other}.host: each mapping needs its own host port`,
      });
    }
    hostPorts.set(host, mapping);
  }

  const names = new Set<string>();
  const emails = new Set<string>();
  config.pki.identities.forEach((identity, i) => {
    const at = (field: string) => ['pki', 'identities', i, field];
    if (RESERVED_IDENTITY_NAMES.includes(identity.name)) {
      ctx.addIssue({ code: z.ZodIssueCode.custom, path: at('name'), message: `'${identity.name}' is reserved for keys/${identity.name}.crt: choose another name` });
    }
    if (names.has(identity.name)) {
      ctx.addIssue({ code: z.ZodIssueCode.custom, path: at('name'), message: `duplicate identity '${identity.name}': names must be unique` });
    }
    names.add(identity.name);
    if (identity.email !== undefined) {
      if (emails.has(identity.email)) {
        ctx.addIssue({ code: z.ZodIssueCode.custom, path: at('email'), message: `duplicate email '${identity.email}': each maps to one NATS user` });
      }
      emails.add(identity.email);
    }
    if (identity.authorized && identity.email === undefined) {
      ctx.addIssue({
        code: z.ZodIssueCode.custom, path: at('authorized'),
        message: 'an authorized identity needs an email: verify_and_map maps the certificate email SAN to the NATS user',
      });
    }
  });
  if (!config.pki.identities.some((identity) => identity.authorized)) {
    ctx.addIssue({
      code: z.ZodIssueCode.custom, path: ['pki', 'identities'],
      message: 'no identity is authorized: set authorized: true (with an email) on at least one, or no client can connect',
    });
  }
  const chartServices = [natsFullname(config.nats), `${natsFullname(config.nats)}-headless`];
  if (chartServices.includes(config.nats.nodePortServiceName)) {
    ctx.addIssue({
      code: z.ZodIssueCode.custom, path: ['nats', 'nodePortServiceName'],
      message: `'${config.nats.nodePortServiceName}' is a Service the NATS chart creates (${chartServices.join(', ')}): choose another name`,
    });
  }
  if (config.nats.routeTlsSecretName === config.nats.tlsSecretName) {
    ctx.addIssue({
      code: z.ZodIssueCode.custom, path: ['nats', 'routeTlsSecretName'],
      message: 'must differ from nats.tlsSecretName: the routes have a certificate of their own',
    });
  }
  if (config.pki.keyType === 'ecdsa' && config.pki.keyBits !== DEFAULT_KEY_BITS) {
    ctx.addIssue({
      code: z.ZodIssueCode.custom, path: ['pki', 'keyBits'],
      message: 'sizes RSA keys only: remove it, or set pki.keyType to rsa (ECDSA keys are P-256)',
    });
  }
  if (config.pki.renewWithinDays >= config.pki.validityDays) {
    ctx.addIssue({
      code: z.ZodIssueCode.custom, path: ['pki', 'renewWithinDays'],
      message: `must be less than pki.validityDays (${config.pki.validityDays}), or every run would re-issue the certificates`,
    });
  }
});

export type Config = z.infer<typeof ConfigSchema>;
export type ClusterConfig = Config['cluster'];
export type EchoConfig = Config['echo'];
export type NatsConfig = Config['nats'];
export type PkiConfig = Config['pki'];
export type Identity = PkiConfig['identities'][number];
export type Permissions = NonNullable<Identity['permissions']>;

/**
 * The field as a person finds it in the file: an identity by its name (`pki.identities['laptop']`),
 * since its position changes as identities are added and removed; anything else by key and index.
 */
function fieldPath(path: PropertyKey[], raw: unknown): string {
  return path.map((key, i) => {
    if (typeof key !== 'number') return `${i ? '.' : ''}${String(key)}`;
    const name = i === 2 && path[0] === 'pki' && path[1] === 'identities' ? inputAt(raw, ['pki', 'identities', key, 'name']) : undefined;
    return typeof name === 'string' ? `['${name}']` : `[${key}]`;
  }).join('');
}

function shown(input: unknown): string {
  const text = JSON.stringify(input);
  return text !== undefined && text.length <= 60 ? ` (got ${text})` : '';
}

/** The user's value at `path` in the raw settings, to quote it back. */
function inputAt(raw: unknown, path: PropertyKey[]): unknown {
  return path.reduce<unknown>((value, key) => (value !== null && typeof value === 'object' ? (value as Record<PropertyKey, unknown>)[key] : undefined), raw);
}

function describe(issue: z.ZodIssue, raw: unknown): string {
  const field = fieldPath(issue.path, raw) || '(top level)';
  if (issue.code === 'unrecognized_keys') {
    return `${field === '(top level)' ? '' : `${field}: `}unknown key(s) ${issue.keys.map((k) => `'${k}'`).join(', ')}: check the spelling against lib/config/config.ts`;
  }
  if (issue.code === 'invalid_type' && issue.received === 'undefined') return `${field}: is required`;
  const quoted = issue.code === z.ZodIssueCode.custom ? '' : shown(inputAt(raw, issue.path));
  return `${field}: ${issue.message}${quoted}`;
}

/** Validates raw settings (as read from YAML) over the defaults; throws ConfigError naming every bad field. */
export function parseConfig(raw: unknown, source = 'configuration'): Config {
  const result = ConfigSchema.safeParse(raw ?? {});
  if (!result.success) throw new ConfigError(source, result.error.issues.map((issue) => describe(issue, raw)));
  return result.data;
}

/**
 * Loads the project's configuration: defaults, overridden by `k3s-nats-tls.yaml` in `dir` when it
 * exists, or by the file K3S_NATS_TLS_CONFIG names (which then must exist).
 */
export function loadConfig(dir: string, env: NodeJS.ProcessEnv): Config {
  const named = env[CONFIG_ENV];
  const file = configFilePath(dir, env);
  const text = readRegularFile(file, named
    ? { what: `the configuration file (${CONFIG_ENV})`, fix: `point ${CONFIG_ENV} at a YAML file, or unset it` }
    : { what: 'the configuration file', fix: 'replace it with a YAML file, or remove it to use the defaults' });
  if (text === undefined) {
    if (named) throw new ConfigError(file, [`${CONFIG_ENV} names a file that does not exist: fix the path or unset it`]);
    return parseConfig({}, 'the defaults in lib/config/config.ts');
  }
  const yaml = yamlSettings(text);
  if ('problems' in yaml) throw new ConfigError(file, yaml.problems);
  return parseConfig(yaml.settings, file);
}

/** The chart's fullname for the configured release: it names the client Service and the StatefulSet. */
export const natsFullname = (nats: Pick<NatsConfig, 'release' | 'chart'>): string => chartFullname(nats.release, nats.chart.name);

/** Host names the chart's route URLs dial, for every replica. */
export const natsRouteHostnamesOf = (nats: Pick<NatsConfig, 'release' | 'chart' | 'namespace' | 'replicas'>): string[] =>
  natsRouteHostnames(natsFullname(nats), nats.namespace, nats.replicas);

/** Names under which in-cluster clients reach the chart's client Service. */
export const natsServiceHostnames = (nats: Pick<NatsConfig, 'release' | 'chart' | 'namespace'>): string[] =>
  chartServiceHostnames(natsFullname(nats), nats.namespace);

/** The kubectl context k3d writes for the cluster. */
export const k3dContext = (cluster: ClusterConfig): string => `k3d-${cluster.name}`;

/** URL at which the host reaches http-echo through the k3d load balancer and Traefik. */
export const echoUrl = (cluster: ClusterConfig): string => `http://localhost:${cluster.ports.http.host}`;

/** URL at which the host reaches NATS through the NodePort mapping. */
export const natsUrl = (cluster: ClusterConfig): string => `tls://localhost:${cluster.ports.nats.host}`;

/** The deployment `npm run contexts` writes natscli contexts for. */
export const natsContextsTarget = (config: Pick<Config, 'cluster' | 'pki'>): ContextsTarget =>
  ({ cluster: config.cluster.name, url: natsUrl(config.cluster), identities: config.pki.identities });
