import { Yaml } from 'cdk8s';
import { TLS_SECRET_KEYS, type NatsChartRef } from './chart';

/**
 * Typed values for the official NATS Helm chart (nats-io/k8s, chart 2.x). The chart ships no
 * values schema and silently ignores unknown keys, so these types are the only guard against a
 * typo that would leave the server running without TLS. The tests configure a real nats-server
 * from the values the construct produces, so a test of that server tests the deployed one.
 */

/** Settings merged into the server's client `tls {}` block: map the client certificate to a user. */
export interface NatsTlsSettings {
  /** Requires a client certificate signed by the CA and uses its email/DNS SAN or DN as the user. */
  readonly verify_and_map: true;
}

/** Subjects a user may (allow) or may not (deny) use; a deny wins. Absent lists impose nothing. */
export interface NatsSubjectRules {
  readonly allow?: readonly string[];
  readonly deny?: readonly string[];
}

/** A user's permissions in nats.conf terms; an absent `publish` or `subscribe` allows everything. */
export interface NatsPermissions {
  readonly publish?: NatsSubjectRules;
  readonly subscribe?: NatsSubjectRules;
  readonly allow_responses?: boolean;
}

/**
 * Rules as nats.conf may write them: an allow list alone may stand in place of the rules, and one
 * subject in place of a list (nats-server's parseVariablePermissions, "old style").
 */
export type NatsConfRules = NatsSubjectRules | string | readonly string[];

/** A user's permissions as written into nats.conf, in the shortest form that means the same. */
export interface NatsConfPermissions {
  readonly publish?: NatsConfRules;
  readonly subscribe?: NatsConfRules;
  readonly allow_responses?: boolean;
}

/** A NATS user: the email (or other SAN/DN) `verify_and_map` reads from a client certificate. */
export interface NatsUser {
  readonly user: string;
  readonly permissions?: NatsConfPermissions;
}

export interface NatsAuthorization {
  readonly users: readonly NatsUser[];
}

export interface NatsChartValues {
  /** Makes the rendered manifests carry their namespace, so `kubectl apply` needs no `-n`. */
  readonly namespaceOverride: string;
  readonly config: {
    readonly nats: {
      readonly port: number;
      readonly tls: {
        readonly enabled: true;
        readonly secretName: string;
        readonly merge: NatsTlsSettings;
      };
    };
    readonly merge: { readonly authorization: NatsAuthorization };
    /** Present when replicas > 1: the servers form a cluster whose routes use mutual TLS. */
    readonly cluster?: {
      readonly enabled: true;
      readonly replicas: number;
      readonly tls: { readonly enabled: true; readonly secretName: string; readonly merge: NatsRouteTlsSettings };
    };
    /** Present when JetStream is on: file storage on a volume per server. */
    readonly jetstream?: {
      readonly enabled: true;
      readonly fileStore: { readonly pvc: { readonly size: string } };
    };
  };
  readonly tlsCA: { readonly enabled: true; readonly secretName: string; readonly key: string };
  /** Present when replicas > 1: the servers spread over the nodes. */
  readonly podTemplate?: {
    /** The chart's map of topologyKey → constraint; the chart adds topologyKey and the labelSelector. */
    readonly topologySpreadConstraints: Readonly<Record<string, NatsSpreadSettings>>;
  };
  /**
   * nats-box would connect to nats://<release> without a client certificate and be refused under
   * verify_and_map; giving it one means a client private key inside the cluster. The proof runs
   * from the host with our own identities, so the box is off.
   */
  readonly natsBox: { readonly enabled: false };
}

export const NATS_TLS_SETTINGS: NatsTlsSettings = { verify_and_map: true };

/** Settings merged into the cluster's route `tls {}` block (its ca_file comes from tlsCA). */
export interface NatsRouteTlsSettings {
  /** A route must present a certificate from our CA: no foreign server can join the cluster. */
  readonly verify: true;
}

export const NATS_ROUTE_TLS_SETTINGS: NatsRouteTlsSettings = { verify: true };

/** How unevenly the servers may spread over the nodes, and what happens when they cannot spread. */
export interface NatsSpreadSettings {
  readonly maxSkew: number;
  readonly whenUnsatisfiable: 'DoNotSchedule' | 'ScheduleAnyway';
}

/** A pod's topology spread constraint, as the pod spec writes it. */
export interface TopologySpreadConstraint extends NatsSpreadSettings {
  readonly topologyKey: string;
  readonly labelSelector: { readonly matchLabels: Readonly<Record<string, string>> };
}

/** The label the kubelet gives each node with its name: spreading by it means one server per node. */
const NODE_TOPOLOGY_KEY = 'kubernetes.io/hostname';

/**
 * At most one server more on one node than on another, as a preference. Not DoNotSchedule: a node
 * that exists but takes no pods (cordoned, or NotReady once its k3d container stopped) still counts
 * as a node without a server, so the last server would stay Pending (test/node-spread.test.ts shows
 * it with the real scheduler); with ScheduleAnyway every server runs, two sharing a node if need be.
 * A one-node cluster is one topology domain, where either would place every server.
 */
const NATS_NODE_SPREAD: NatsSpreadSettings = { maxSkew: 1, whenUnsatisfiable: 'ScheduleAnyway' };

/**
 * The constraint the chart writes into the StatefulSet's pod template from the values: the chart's
 * pod-template.yaml adds `topologyKey` (the map key) and a labelSelector of its server pods' labels
 * (nats.selectorLabels: name, instance, component nats, so nats-box pods do not count); the values
 * give the rest (helm template of chart 2.14.2 renders exactly this). JetStream volumes follow:
 * k3s's local-path StorageClass binds WaitForFirstConsumer, so each is made on the node the
 * scheduler chose.
 */
export function natsNodeSpread(podSelector: Readonly<Record<string, string>>): TopologySpreadConstraint {
  return { topologyKey: NODE_TOPOLOGY_KEY, labelSelector: { matchLabels: { ...podSelector } }, ...NATS_NODE_SPREAD };
}

/** What the values are made of: everything about the server but its key material. */
export interface NatsServerSettings {
  readonly namespace: string;
  readonly secretName: string;
  readonly clientPort: number;
  readonly users: readonly NatsUser[];
  /** Labels of the chart's server pods (natsPodSelector), which the spread over the nodes counts. */
  readonly podSelector: Readonly<Record<string, string>>;
  /** Servers in the StatefulSet; more than 1 makes a cluster. */
  readonly replicas: number;
  /** The Secret with the route certificate; needed when replicas > 1. */
  readonly routeSecretName?: string;
  /** JetStream file storage per server, e.g. `1Gi`; absent = no JetStream. */
  readonly jetstreamStorage?: string;
}

/** A client identity as far as the server's users go. */
export interface NatsIdentity {
  readonly authorized: boolean;
  readonly email?: string;
  readonly permissions?: NatsPermissions;
}

/**
 * An allow list alone as the list, one subject as itself: the chart writes every user's block into
 * one ConfigMap (about 190 instead of 325 bytes per fleet identity), which kubectl copies once more
 * into its last-applied annotation, limited to 256 KiB (lib/synth/object-size.ts).
 */
function shortRules(rules: NatsSubjectRules): NatsConfRules {
  if (rules.deny !== undefined || rules.allow === undefined) return rules;
  return rules.allow.length === 1 ? rules.allow[0] : rules.allow;
}

export function natsConfPermissions({ publish, subscribe, ...rest }: NatsPermissions): NatsConfPermissions {
  return { ...(publish ? { publish: shortRules(publish) } : {}), ...(subscribe ? { subscribe: shortRules(subscribe) } : {}), ...rest };
}

/** The server's users: one per authorized identity, named by the email verify_and_map reads. */
export function natsUsers(identities: readonly NatsIdentity[]): NatsUser[] {
  return identities
    .filter((identity): identity is NatsIdentity & { email: string } => identity.authorized && identity.email !== undefined)
    .map(({ email, permissions }) => (permissions ? { user: email, permissions: natsConfPermissions(permissions) } : { user: email }));
}

export const natsAuthorization = (identities: readonly NatsIdentity[]): NatsAuthorization => ({ users: natsUsers(identities) });

export function natsHelmValues(settings: NatsServerSettings): NatsChartValues {
  return {
    namespaceOverride: settings.namespace,
    config: {
      nats: {
        port: settings.clientPort,
        tls: { enabled: true, secretName: settings.secretName, merge: NATS_TLS_SETTINGS },
      },
      merge: { authorization: { users: settings.users } },
      ...clusterValues(settings),
      ...(settings.jetstreamStorage ? { jetstream: { enabled: true, fileStore: { pvc: { size: settings.jetstreamStorage } } } } : {}),
    },
    tlsCA: { enabled: true, secretName: settings.secretName, key: TLS_SECRET_KEYS.ca },
    ...spreadValues(settings),
    natsBox: { enabled: false },
  };
}

function clusterValues(settings: NatsServerSettings): Pick<NatsChartValues['config'], 'cluster'> {
  const { replicas } = settings;
  if (replicas === 1) return {};
  if (!settings.routeSecretName) throw new Error('natsHelmValues: a cluster needs routeSecretName');
  return { cluster: { enabled: true, replicas, tls: { enabled: true, secretName: settings.routeSecretName, merge: NATS_ROUTE_TLS_SETTINGS } } };
}

/** The chart's form of natsNodeSpread: keyed by topologyKey, without what the chart adds itself. */
function spreadValues(settings: NatsServerSettings): Pick<NatsChartValues, 'podTemplate'> {
  if (settings.replicas === 1) return {};
  const { topologyKey, maxSkew, whenUnsatisfiable } = natsNodeSpread(settings.podSelector);
  return { podTemplate: { topologySpreadConstraints: { [topologyKey]: { maxSkew, whenUnsatisfiable } } } };
}

/**
 * dist/helm/nats-values.yaml as synth writes it, around `natsValuesYaml`. The deploy script hashes
 * this text, not the file, so even a dry run after a configuration change knows the rendered chart is stale.
 */
export function natsValuesDocument(valuesYaml: string, chart: NatsChartRef): string {
  return `# Values for the NATS Helm chart ${chart.name} ${chart.version}, synthesized by \`npm run synth\` from the configuration\n` +
    `# (lib/config/config.ts defaults and k3s-nats-tls.yaml): do not edit.\n${valuesYaml}`;
}

/** The values as YAML: a HelmChart's valuesContent, and the body of natsValuesDocument. */
export const natsValuesYaml = (values: NatsChartValues): string => Yaml.stringify(values);
