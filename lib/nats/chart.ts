/**
 * Facts of the official NATS Helm chart (nats-io/k8s, `helm/charts/nats`, 2.x), read from its
 * templates: how it names what it creates and labels its pods. One place, so the construct, the
 * configuration checks and the deploy driver cannot disagree with the chart or with each other.
 */

/** Where the chart comes from; pinned, so every machine renders the same manifests. */
export interface NatsChartRef {
  readonly name: string;
  readonly version: string;
  readonly repo: string;
}

export const DEFAULT_NATS_CHART: NatsChartRef = { name: 'nats', version: '2.14.2', repo: 'https://nats-io.github.io/k8s/helm/charts/' };

/** Keys of the TLS Secret; the chart reads tls.crt/tls.key by default and ca.crt through tlsCA. */
export const TLS_SECRET_KEYS = { ca: 'ca.crt', cert: 'tls.crt', key: 'tls.key' } as const;

/** The container port name the chart gives the NATS client port. */
export const NATS_CLIENT_PORT_NAME = 'nats';

const CLUSTER_DOMAIN = 'cluster.local';

/**
 * The chart's "nats.fullname", which names its client Service, StatefulSet and ConfigMap: the release,
 * suffixed with the chart name unless the release already contains it (`nats` → `nats`, `bus` → `bus-nats`).
 */
export function natsFullname(release: string, chartName: string = DEFAULT_NATS_CHART.name): string {
  const name = release.includes(chartName) ? release : `${release}-${chartName}`;
  return name.slice(0, 63).replace(/-+$/, '');
}

/** The objects the chart renders for a release, by the names its templates give them. */
export interface NatsChartObjects {
  readonly statefulSet: string;
  readonly service: string;
  readonly headlessService: string;
  readonly configMap: string;
}

export function natsChartObjects(release: string, chartName?: string): NatsChartObjects {
  const fullname = natsFullname(release, chartName);
  return { statefulSet: fullname, service: fullname, headlessService: `${fullname}-headless`, configMap: `${fullname}-config` };
}

/** Names under which in-cluster clients reach the chart's client Service. */
export function natsServiceHostnames(service: string, namespace: string): string[] {
  return [service, `${service}.${namespace}`, `${service}.${namespace}.svc`, `${service}.${namespace}.svc.${CLUSTER_DOMAIN}`];
}

/** Labels of the chart's NATS server pods; without `component` a selector would also match nats-box. */
export function natsPodSelector(release: string, chartName: string = DEFAULT_NATS_CHART.name): Record<string, string> {
  return { 'app.kubernetes.io/name': chartName, 'app.kubernetes.io/instance': release, 'app.kubernetes.io/component': 'nats' };
}

/** The port the chart's servers route to each other on. */
export const NATS_CLUSTER_PORT = 6222;

/**
 * Every host name a route dials, for every replica: the chart writes route URLs with the short form
 * `<fullname>-<i>.<fullname>-headless` (and with `routeURLs.useFQDN` the long form), so the route
 * certificate carries all four spellings of each pod's name. A missing short name is a known cause
 * of failed route handshakes.
 */
export function natsRouteHostnames(fullname: string, namespace: string, replicas: number): string[] {
  return Array.from({ length: replicas }, (_, i) => natsServiceHostnames(`${fullname}-${i}.${fullname}-headless`, namespace)).flat();
}

/** The route URLs the chart writes into every server's `cluster.routes` for release `fullname` (short form). */
export const natsRouteUrls = (fullname: string, replicas: number): string[] =>
  Array.from({ length: replicas }, (_, i) => `tls://${fullname}-${i}.${fullname}-headless:${NATS_CLUSTER_PORT}`);
