import type { Config } from '../../lib/config/config';
import type { NatsAuthorization, NatsChartValues, NatsRouteTlsSettings, NatsTlsSettings } from '../../lib/nats/values';
import { plannedStack } from '../../lib/synth/stack';

/**
 * The nats-server configuration the tests run, derived from the Helm values the construct produces
 * (`NatsMutualTls.helmValues`): the chart turns those values into nats.conf, and this turns them into
 * the same TLS mapping, users, route TLS and JetStream for a plain nats-server on loopback, so a test
 * of that server tests what ships. Only where the files and ports are comes from the test.
 */

/** Where a nats-server run outside Kubernetes (tests, local checks) finds its listener and PEM files. */
export interface NatsServerEndpoint {
  readonly host: string;
  /** -1 lets nats-server pick a free port and log it. */
  readonly port: number;
  readonly caFile: string;
  readonly certFile: string;
  readonly keyFile: string;
}

/** Where one server of a local cluster listens for routes, and what it routes to. */
export interface NatsClusterEndpoint {
  /** The cluster's name, the same on every server. */
  readonly name: string;
  /** This server's name, unique in the cluster (JetStream needs it). */
  readonly serverName: string;
  readonly host: string;
  readonly port: number;
  /** The other servers' route URLs, `tls://host:port`. */
  readonly routes: readonly string[];
  /** The route certificate and key. */
  readonly certFile: string;
  readonly keyFile: string;
  /** Where JetStream keeps this server's files, when the configuration turns it on. */
  readonly storeDir?: string;
}

/** A nats-server configuration (JSON is valid nats-server syntax) with the chart's TLS mapping and users. */
export interface NatsServerConfig {
  readonly server_name?: string;
  readonly host: string;
  readonly port: number;
  readonly tls: NatsTlsSettings & { readonly ca_file: string; readonly cert_file: string; readonly key_file: string };
  readonly authorization: NatsAuthorization;
  readonly cluster?: {
    readonly name: string;
    readonly host: string;
    readonly port: number;
    readonly routes: readonly string[];
    readonly tls: NatsRouteTlsSettings & { readonly ca_file: string; readonly cert_file: string; readonly key_file: string };
  };
  readonly jetstream?: { readonly store_dir: string };
}

/** The server settings `values` give the chart's servers, for a plain nats-server at `endpoint` (and `cluster`). */
export function natsServerConfig(values: NatsChartValues, endpoint: NatsServerEndpoint, cluster?: NatsClusterEndpoint): NatsServerConfig {
  const route = values.config.cluster;
  if (cluster && !route) throw new Error('natsServerConfig: the values have no cluster (nats.replicas 1), so no routes');
  return {
    ...(cluster ? { server_name: cluster.serverName } : {}),
    host: endpoint.host,
    port: endpoint.port,
    tls: { ca_file: endpoint.caFile, cert_file: endpoint.certFile, key_file: endpoint.keyFile, ...values.config.nats.tls.merge },
    authorization: values.config.merge.authorization,
    ...(cluster && route ? {
      cluster: {
        name: cluster.name, host: cluster.host, port: cluster.port, routes: cluster.routes,
        tls: { ca_file: endpoint.caFile, cert_file: cluster.certFile, key_file: cluster.keyFile, ...route.tls.merge },
      },
    } : {}),
    ...(values.config.jetstream && cluster?.storeDir ? { jetstream: { store_dir: cluster.storeDir } } : {}),
  };
}

/** The Helm values that ship for `config`: the ones the stack's NatsMutualTls construct writes into dist/. */
export const shippedNatsValues = (config: Config): NatsChartValues => plannedStack(config).nats.helmValues;
