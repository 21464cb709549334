import { Yaml } from 'cdk8s';
import type { Config, Identity, NatsConfig } from './config';

/**
 * Typed values for the official NATS Helm chart (nats-io/k8s, chart 1.x/2.x). The chart ships no
 * values schema and silently ignores unknown keys, so these types are the only guard against a
 * typo that would leave the server running without TLS.
 */

/** Keys of the TLS Secret; the chart reads tls.crt/tls.key by default and ca.crt through tlsCA. */
export const TLS_SECRET_KEYS = { ca: 'ca.crt', cert: 'tls.crt', key: 'tls.key' } as const;

/** The container port name the chart gives the NATS client port. */
export const NATS_CLIENT_PORT_NAME = 'nats';

/** Settings merged into the server's client `tls {}` block: map the client certificate to a user. */
export interface NatsTlsSettings {
  /** Requires a client certificate signed by the CA and uses its email/DNS SAN or DN as the user. */
  readonly verify_and_map: true;
}

export interface NatsAuthorization {
  readonly users: ReadonlyArray<{ readonly user: string }>;
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
  };
  readonly tlsCA: { readonly enabled: true; readonly secretName: string; readonly key: string };
  /**
   * nats-box would connect to nats://<release> without a client certificate and be refused under
   * verify_and_map; giving it one means a client private key inside the cluster. The proof runs
   * from the host with our own identities, so the box is off.
   */
  readonly natsBox: { readonly enabled: false };
}

export const NATS_TLS_SETTINGS: NatsTlsSettings = { verify_and_map: true };

/** The server's users: one per authorized identity, named by the email verify_and_map reads. */
export function natsAuthorization(identities: readonly Identity[]): NatsAuthorization {
  return {
    users: identities
      .filter((identity): identity is Identity & { email: string } => identity.authorized && identity.email !== undefined)
      .map((identity) => ({ user: identity.email })),
  };
}

/** Labels of the chart's NATS server pods; without `component` the selector would also match nats-box. */
export function natsPodSelector(nats: NatsConfig): Record<string, string> {
  return {
    'app.kubernetes.io/name': nats.chart.name,
    'app.kubernetes.io/instance': nats.release,
    'app.kubernetes.io/component': 'nats',
  };
}

/**
 * dist/helm/nats-values.yaml as synth writes it. The deploy script hashes this text, not the file,
 * so even a dry run after a configuration change knows the rendered chart is stale.
 */
export function natsValuesDocument(config: Config): string {
  const { chart } = config.nats;
  return `# Values for the NATS Helm chart ${chart.name} ${chart.version}, synthesized by \`npm run synth\` from the configuration\n` +
    `# (lib/config.ts defaults and k3s-nats-tls.yaml): do not edit.\n${Yaml.stringify(natsHelmValues(config))}`;
}

export function natsHelmValues(config: Config): NatsChartValues {
  const { nats } = config;
  return {
    namespaceOverride: nats.namespace,
    config: {
      nats: {
        port: nats.clientPort,
        tls: { enabled: true, secretName: nats.tlsSecretName, merge: NATS_TLS_SETTINGS },
      },
      merge: { authorization: natsAuthorization(config.pki.identities) },
    },
    tlsCA: { enabled: true, secretName: nats.tlsSecretName, key: TLS_SECRET_KEYS.ca },
    natsBox: { enabled: false },
  };
}

/** Where a nats-server run outside Kubernetes (tests, local checks) finds its listener and PEM files. */
export interface NatsServerEndpoint {
  readonly host: string;
  /** -1 lets nats-server pick a free port and log it. */
  readonly port: number;
  readonly caFile: string;
  readonly certFile: string;
  readonly keyFile: string;
}

/** A nats-server configuration (JSON is valid nats-server syntax) with the chart's TLS mapping and users. */
export interface NatsServerConfig {
  readonly host: string;
  readonly port: number;
  readonly tls: NatsTlsSettings & { readonly ca_file: string; readonly cert_file: string; readonly key_file: string };
  readonly authorization: NatsAuthorization;
}

/**
 * The client-facing server settings the Helm values produce, for a plain nats-server: the same
 * `NATS_TLS_SETTINGS` and `natsAuthorization`, so a test of this config tests the deployed one.
 */
export function natsServerConfig(config: Config, endpoint: NatsServerEndpoint): NatsServerConfig {
  return {
    host: endpoint.host,
    port: endpoint.port,
    tls: { ca_file: endpoint.caFile, cert_file: endpoint.certFile, key_file: endpoint.keyFile, ...NATS_TLS_SETTINGS },
    authorization: natsAuthorization(config.pki.identities),
  };
}
