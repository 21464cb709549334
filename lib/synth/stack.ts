import { App } from 'cdk8s';
import { EchoChart } from '../../charts/echo';
import { NamespacesChart } from '../../charts/namespaces';
import { NatsChart } from '../../charts/nats';
import { SecretsChart } from '../../charts/secrets';
import type { k8s } from '../../imports/k8s';
import type { Config } from '../config/config';
import { tlsSecret, type HttpEchoProps, type NatsMutualTls, type HttpEcho, type ServerTlsMaterial } from '../constructs';
import type { NatsMutualTlsProps } from '../constructs/nats-mutual-tls';
import { TLS_SECRET_KEYS } from '../nats/chart';
import { natsUsers } from '../nats/values';
import { ownerLabels } from './ownership';

/**
 * The whole stack from one configuration: the only place that maps the configuration onto construct
 * props. `npm run synth` and the deploy driver both build it, so what the driver waits for and
 * applies is what the constructs created, never a name rebuilt from the configuration.
 */

export function httpEchoProps(config: Config): HttpEchoProps {
  const { echo } = config;
  return {
    name: echo.name, namespace: echo.namespace, image: echo.image, text: echo.text,
    containerPort: echo.containerPort, servicePort: echo.servicePort, runAsUser: echo.runAsUser,
    tls: { secretName: echo.tls.secretName, hosts: echo.tls.hosts },
  };
}

export function natsMutualTlsProps(config: Config, tls: ServerTlsMaterial): Omit<NatsMutualTlsProps, 'secretScope'> {
  const { nats } = config;
  return {
    tls,
    users: natsUsers(config.pki.identities),
    namespace: nats.namespace,
    release: nats.release,
    chart: nats.chart,
    secretName: nats.tlsSecretName,
    clientPort: nats.clientPort,
    replicas: nats.replicas,
    routeSecretName: nats.routeTlsSecretName,
    install: nats.install,
    ...(nats.jetstream.enabled ? { jetstream: { storage: nats.jetstream.storage } } : {}),
    nodePort: { nodePort: config.cluster.ports.nats.nodePort, serviceName: nats.nodePortServiceName },
  };
}

/** The PEM texts the stack's Secrets hold: the NATS server's material and http-echo's HTTPS pair. */
export interface StackTls extends ServerTlsMaterial {
  readonly echo: { readonly cert: string; readonly key: string };
}

/** What the stack is made of; each member exposes the names of what it creates. */
export interface Stack {
  readonly nats: NatsMutualTls;
  readonly echo: HttpEcho;
  /** The Secret Traefik serves http-echo's HTTPS certificate from. */
  readonly echoTlsSecret: k8s.KubeSecret;
}

/**
 * What the deploy driver needs of the stack after synth — names, the chart's values, what to wait
 * for — as plain data the constructs produced. A Stack is one; synth also keeps a copy in its stamp
 * (lib/synth/synth-stamp.ts), so a run that finds nothing changed has it without building the tree.
 */
export interface StackFacts {
  readonly nats: Pick<NatsMutualTls, 'namespace' | 'release' | 'replicas' | 'rolloutResource' | 'helmInstallJob' | 'helmValues' | 'valuesDocument'> & {
    /** The k3s HelmChart object, with `install: 'helmchart'`. */
    readonly helmChart?: { readonly name: string };
  };
  readonly echo: Pick<HttpEcho, 'namespace' | 'rolloutResource'>;
}

/** The facts read out of the constructs (their getters evaluated), ready to be stored. */
export function stackFacts({ nats, echo }: StackFacts): StackFacts {
  return {
    nats: {
      namespace: nats.namespace, release: nats.release, replicas: nats.replicas, rolloutResource: nats.rolloutResource,
      helmInstallJob: nats.helmInstallJob, helmValues: nats.helmValues, valuesDocument: nats.valuesDocument,
      ...(nats.helmChart ? { helmChart: { name: nats.helmChart.name } } : {}),
    },
    echo: { namespace: echo.namespace, rolloutResource: echo.rolloutResource },
  };
}

/**
 * Adds the charts to `app`. cdk8s numbers the files by dependency: namespaces first, then the
 * Secrets (git-ignored, owner-only), then the NATS NodePort and http-echo.
 */
export function defineStack(app: App, config: Config, tls: StackTls): Stack {
  // On every object of every chart: what up prunes by (lib/synth/ownership.ts).
  const labels = ownerLabels(config.instance);
  const namespaces = new NamespacesChart(app, 'namespaces', { labels, names: [config.nats.namespace, config.echo.namespace] });
  // Named after its first tenant: renaming it would rename the git-ignored file everyone already has.
  const secrets = new SecretsChart(app, 'nats-tls', { labels });
  const nats = new NatsChart(app, 'nats-access', { labels, nats: { ...natsMutualTlsProps(config, tls), secretScope: secrets } });
  const echoTlsSecret = tlsSecret(secrets, 'echo-tls', { name: config.echo.tls.secretName, namespace: config.echo.namespace }, {
    [TLS_SECRET_KEYS.cert]: tls.echo.cert, [TLS_SECRET_KEYS.key]: tls.echo.key,
  });
  const echo = new EchoChart(app, 'echo', { labels, echo: httpEchoProps(config) });
  for (const chart of [secrets, nats, echo]) chart.addDependency(namespaces);
  return { nats: nats.nats, echo: echo.echo, echoTlsSecret };
}

/** Stand-in PEM text: names, values and rollout targets never depend on key material. */
const PLACEHOLDER_PEM = '-----BEGIN CERTIFICATE-----\n-----END CERTIFICATE-----\n';

/**
 * The stack as the constructs define it for this configuration, without key material and without
 * writing anything: what the deploy driver renders, waits for and names, also in a dry run.
 */
export function plannedStack(config: Config): Stack {
  const pair = { cert: PLACEHOLDER_PEM, key: PLACEHOLDER_PEM };
  const tls = { caCert: PLACEHOLDER_PEM, serverCert: PLACEHOLDER_PEM, serverKey: PLACEHOLDER_PEM, route: pair, echo: pair };
  return defineStack(new App({ outdir: '/nonexistent' }), config, tls);
}
