import { DEFAULT_NATS_CHART } from '../nats/chart';
import type { HttpEchoProps } from './http-echo';
import type { NatsMutualTlsProps } from './nats-mutual-tls';

/**
 * The constructs' defaults and the names they derive, in a module of their own that loads no cdk8s:
 * the configuration's schema and the deploy driver read them without paying for the construct
 * library (a no-op synth or up never loads it). The constructs re-export them.
 */

/** The values of the props left out; the configuration's defaults are these. */
export const HTTP_ECHO_DEFAULTS = {
  name: 'echo',
  image: 'hashicorp/http-echo:1.0.0',
  containerPort: 5678,
  servicePort: 80,
  runAsUser: 65532,
  ingressClassName: 'traefik',
} satisfies Required<Pick<HttpEchoProps, 'name' | 'image' | 'containerPort' | 'servicePort' | 'runAsUser' | 'ingressClassName'>>;

/**
 * Who installs the NATS chart. `template`: whoever deploys renders it (`helm template` from
 * `valuesDocument`) and applies the result. `helmchart`: a k3s `HelmChart` object carries chart,
 * version, repository and values, and k3s's built-in helm controller installs it.
 */
export const NATS_INSTALLS = ['template', 'helmchart'] as const;

export type NatsInstall = typeof NATS_INSTALLS[number];

/**
 * Where k3s's helm controller is documented to take HelmChart objects from (its own charts live
 * there); the controller runs the install Job `helm-install-<name>` in the same namespace.
 */
export const K3S_HELMCHART_NAMESPACE = 'kube-system';

/** The HelmChart of `install: 'helmchart'` is named after the release: its helm-install Job and release take that name. */
export const k3sHelmChartName = (release: string): string => release;

/** The values of the props left out; the configuration's defaults are these. */
export const NATS_MUTUAL_TLS_DEFAULTS = {
  namespace: 'nats',
  release: 'nats',
  chart: DEFAULT_NATS_CHART,
  secretName: 'nats-server-tls',
  clientPort: 4222,
  replicas: 1,
  routeSecretName: 'nats-route-tls',
  install: 'template',
} satisfies Required<Pick<NatsMutualTlsProps,
  'namespace' | 'release' | 'chart' | 'secretName' | 'clientPort' | 'replicas' | 'routeSecretName' | 'install'>>;

/** The NodePort Service's name when `nodePort.serviceName` is left out. */
export const defaultNodePortServiceName = (release: string): string => `${release}-np`;
