import { Construct } from 'constructs';
import { HelmChart } from '../../imports/helm.cattle.io';
import { k8s } from '../../imports/k8s';
import {
  NATS_CLIENT_PORT_NAME, natsChartObjects, natsPodSelector, natsRouteUrls, TLS_SECRET_KEYS,
  type NatsChartObjects, type NatsChartRef,
} from '../nats/chart';
import { natsHelmValues, natsValuesDocument, natsValuesYaml, type NatsChartValues, type NatsUser } from '../nats/values';
import { checkProps } from './check-props';
import { defaultNodePortServiceName, K3S_HELMCHART_NAMESPACE, k3sHelmChartName, NATS_INSTALLS, NATS_MUTUAL_TLS_DEFAULTS, type NatsInstall } from './defaults';
import { HELM_RELEASE_MAX_LENGTH, isDnsLabel, isNatsReplicaCount, isNodePort, isStorageSize, NATS_REPLICA_CHOICE, NODE_PORT_RANGE } from './kubernetes-rules';
import { tlsSecret } from './tls-secret';

export { defaultNodePortServiceName, K3S_HELMCHART_NAMESPACE, k3sHelmChartName, NATS_INSTALLS, NATS_MUTUAL_TLS_DEFAULTS, type NatsInstall };

/** PEM text of the server's identity and of the CA that signs every client (and every route). */
export interface ServerTlsMaterial {
  readonly caCert: string;
  readonly serverCert: string;
  readonly serverKey: string;
  /** The routes' certificate (serverAuth + clientAuth, naming every pod the routes dial); needed when replicas > 1. */
  readonly route?: { readonly cert: string; readonly key: string };
}

/** JetStream with file storage. */
export interface NatsJetStreamProps {
  /** Size of each server's volume, e.g. `1Gi`. */
  readonly storage: string;
}

/** A NodePort that makes the NATS client port reachable from outside the cluster. */
export interface NatsNodePortProps {
  /** The node port, within 30000–32767. */
  readonly nodePort: number;
  /**
   * Name of the Service; must differ from the chart's own Services.
   * @default `${release}-np`
   */
  readonly serviceName?: string;
}

/**
 * HelmChart objects k3s itself keeps in kube-system: one of ours with such a name would replace
 * k3s's Traefik.
 */
const K3S_OWN_HELMCHARTS = ['traefik', 'traefik-crd'];

export interface NatsMutualTlsProps {
  /** The server certificate and key, and the CA whose clients the server admits. */
  readonly tls: ServerTlsMaterial;
  /** The NATS users: the names `verify_and_map` reads from client certificates (their email SANs). At least one. */
  readonly users: readonly NatsUser[];
  /**
   * Namespace of the NATS release and of everything this construct creates.
   * @default 'nats'
   */
  readonly namespace?: string;
  /**
   * Helm release name; it names the chart's StatefulSet and Services and labels its pods.
   * @default 'nats'
   */
  readonly release?: string;
  /**
   * The NATS Helm chart to install, pinned.
   * @default nats 2.14.2 from https://nats-io.github.io/k8s/helm/charts/
   */
  readonly chart?: NatsChartRef;
  /**
   * Name of the TLS Secret the chart mounts.
   * @default 'nats-server-tls'
   */
  readonly secretName?: string;
  /**
   * The NATS client port.
   * @default 4222
   */
  readonly clientPort?: number;
  /**
   * Servers in the StatefulSet: 1, or 3 or 5 for a cluster whose routes use mutual TLS with `tls.route`.
   * @default 1
   */
  readonly replicas?: number;
  /**
   * Name of the Secret holding the route certificate, when replicas > 1.
   * @default 'nats-route-tls'
   */
  readonly routeSecretName?: string;
  /**
   * Turn on JetStream with file storage on a volume per server.
   * @default - no JetStream
   */
  readonly jetstream?: NatsJetStreamProps;
  /**
   * Expose the client port on every node.
   * @default - no NodePort: clients inside the cluster use the chart's Service
   */
  readonly nodePort?: NatsNodePortProps;
  /**
   * Who installs the chart. With `helmchart` this construct adds a k3s HelmChart object (it holds no
   * secret: the values name the Secret, they do not contain it), so k3s installs NATS itself and
   * nobody may also apply a `helm template` rendering; see `install` on the construct.
   * @default 'template'
   */
  readonly install?: NatsInstall;
  /**
   * Where the Secret goes. Pass a Chart of its own so the file holding the private key can stay out
   * of git while the rest is committed.
   * @default - this construct
   */
  readonly secretScope?: Construct;
}

/**
 * NATS on Kubernetes that admits only clients holding a certificate from our CA whose email maps
 * to a NATS user (`verify_and_map`), for the official NATS Helm chart: the TLS Secret the chart
 * mounts, an optional NodePort, the typed Helm values, and the names of what the chart creates.
 * The chart itself is rendered by `helm template` from `valuesDocument`, or, with `install:
 * 'helmchart'`, installed by k3s from the HelmChart object this construct adds.
 */
export class NatsMutualTls extends Construct {
  readonly namespace: string;
  readonly release: string;
  readonly chart: NatsChartRef;
  readonly clientPort: number;
  /** The Secret holding `ca.crt`, `tls.crt` and `tls.key`. */
  readonly secret: k8s.KubeSecret;
  /** The NodePort Service, when `nodePort` was given. */
  readonly nodePortService?: k8s.KubeService;
  readonly replicas: number;
  /** The Secret holding the route certificate, when replicas > 1. */
  readonly routeSecret?: k8s.KubeSecret;
  /** What the chart renders for this release, by name: the StatefulSet to wait for, the Services to reach. */
  readonly chartObjects: NatsChartObjects;
  /** Values for the chart. */
  readonly helmValues: NatsChartValues;
  /**
   * The one path that installs the chart: a deploy driver renders and applies the chart only when
   * this is `template`; with `helmchart` k3s installs it from `helmChart`, and a rendering applied
   * beside it would be a second, conflicting copy of the same StatefulSet and Services.
   */
  readonly install: NatsInstall;
  /** The k3s HelmChart object (in kube-system, named after the release), when `install` is `helmchart`. */
  readonly helmChart?: HelmChart;

  constructor(scope: Construct, id: string, props: NatsMutualTlsProps) {
    super(scope, id);
    const defaults = NATS_MUTUAL_TLS_DEFAULTS;
    this.namespace = props.namespace ?? defaults.namespace;
    this.release = props.release ?? defaults.release;
    this.chart = props.chart ?? defaults.chart;
    this.clientPort = props.clientPort ?? defaults.clientPort;
    this.replicas = props.replicas ?? defaults.replicas;
    this.install = props.install ?? defaults.install;
    const secretName = props.secretName ?? defaults.secretName;
    const routeSecretName = props.routeSecretName ?? defaults.routeSecretName;
    this.chartObjects = natsChartObjects(this.release, this.chart.name);
    validate(props, {
      namespace: this.namespace, release: this.release, secretName, routeSecretName, replicas: this.replicas,
      chartObjects: this.chartObjects, install: this.install,
    });

    const secretScope = props.secretScope ?? this;
    this.secret = tlsSecret(secretScope, `${id}-server-tls`, { name: secretName, namespace: this.namespace }, {
      [TLS_SECRET_KEYS.ca]: props.tls.caCert, [TLS_SECRET_KEYS.cert]: props.tls.serverCert, [TLS_SECRET_KEYS.key]: props.tls.serverKey,
    });
    if (this.replicas > 1 && props.tls.route) {
      this.routeSecret = tlsSecret(secretScope, `${id}-route-tls`, { name: routeSecretName, namespace: this.namespace }, {
        [TLS_SECRET_KEYS.cert]: props.tls.route.cert, [TLS_SECRET_KEYS.key]: props.tls.route.key,
      });
    }

    if (props.nodePort) this.nodePortService = this.addNodePort(props.nodePort);
    this.helmValues = natsHelmValues({
      namespace: this.namespace, secretName, clientPort: this.clientPort, users: props.users,
      podSelector: natsPodSelector(this.release, this.chart.name),
      replicas: this.replicas, routeSecretName, jetstreamStorage: props.jetstream?.storage,
    });
    if (this.install === 'helmchart') this.helmChart = this.addHelmChart();
  }

  /** The URLs the chart's servers route to each other on (short form, as the chart writes them). */
  get routeUrls(): string[] {
    return this.replicas > 1 ? natsRouteUrls(this.chartObjects.statefulSet, this.replicas) : [];
  }

  /** The values as YAML, made once: a fleet's thousand users take a tenth of a second to serialize. */
  private valuesYaml?: string;

  /** dist/helm/nats-values.yaml: the values as YAML, headed by where they come from. */
  get valuesDocument(): string {
    return natsValuesDocument(this.helmValuesYaml, this.chart);
  }

  private get helmValuesYaml(): string {
    this.valuesYaml ??= natsValuesYaml(this.helmValues);
    return this.valuesYaml;
  }

  /** The StatefulSet as `kubectl rollout status` names it. */
  get rolloutResource(): string {
    return `statefulset/${this.chartObjects.statefulSet}`;
  }

  /**
   * With `helmchart`: the Job k3s's helm controller runs to install the chart, as `kubectl wait`
   * names it. The StatefulSet exists only once this Job has completed.
   */
  get helmInstallJob(): { readonly namespace: string; readonly resource: string } | undefined {
    return this.helmChart ? { namespace: K3S_HELMCHART_NAMESPACE, resource: `job/helm-install-${this.helmChart.name}` } : undefined;
  }

  // The release is the HelmChart's name; the values travel as the same YAML that
  // dist/helm/nats-values.yaml holds, so both install paths configure the same server.
  private addHelmChart(): HelmChart {
    return new HelmChart(this, 'helm-chart', {
      metadata: { name: k3sHelmChartName(this.release), namespace: K3S_HELMCHART_NAMESPACE },
      spec: {
        chart: this.chart.name,
        repo: this.chart.repo,
        version: this.chart.version,
        targetNamespace: this.namespace,
        valuesContent: this.helmValuesYaml,
      },
    });
  }

  // The low-level construct: kplus.Service cannot target a port by name, and the chart's pods are
  // selected by the chart's labels, not by a construct of ours.
  private addNodePort(props: NatsNodePortProps): k8s.KubeService {
    return new k8s.KubeService(this, 'node-port', {
      metadata: {
        name: props.serviceName ?? defaultNodePortServiceName(this.release),
        namespace: this.namespace,
        labels: { 'app.kubernetes.io/name': this.chart.name, 'app.kubernetes.io/instance': this.release },
      },
      spec: {
        type: 'NodePort',
        selector: natsPodSelector(this.release, this.chart.name),
        ports: [{
          name: NATS_CLIENT_PORT_NAME,
          protocol: 'TCP',
          port: this.clientPort,
          targetPort: k8s.IntOrString.fromString(NATS_CLIENT_PORT_NAME),
          nodePort: props.nodePort,
        }],
      },
    });
  }
}

interface Resolved {
  readonly namespace: string;
  readonly release: string;
  readonly secretName: string;
  readonly routeSecretName: string;
  readonly replicas: number;
  readonly chartObjects: NatsChartObjects;
  readonly install: NatsInstall;
}

function validate(props: NatsMutualTlsProps, resolved: Resolved): void {
  const chartServices = [resolved.chartObjects.service, resolved.chartObjects.headlessService];
  const nodePortName = props.nodePort?.serviceName ?? defaultNodePortServiceName(resolved.release);
  checkProps('NatsMutualTls', [
    ['namespace', resolved.namespace, isDnsLabel(resolved.namespace), 'must be a DNS label'],
    ['release', resolved.release, isDnsLabel(resolved.release) && resolved.release.length <= HELM_RELEASE_MAX_LENGTH,
      `must be a DNS label of at most ${HELM_RELEASE_MAX_LENGTH} characters`],
    ['secretName', resolved.secretName, isDnsLabel(resolved.secretName), 'must be a DNS label'],
    ['replicas', resolved.replicas, isNatsReplicaCount(resolved.replicas),
      `must be ${NATS_REPLICA_CHOICE}: a cluster needs an odd number of servers for a quorum`],
    ['tls.route', props.tls.route ? 'given' : undefined, resolved.replicas === 1 || props.tls.route !== undefined,
      'must hold the route certificate and key when replicas > 1: the routes use mutual TLS'],
    ['routeSecretName', resolved.routeSecretName, isDnsLabel(resolved.routeSecretName) && resolved.routeSecretName !== resolved.secretName,
      'must be a DNS label other than secretName'],
    ['jetstream.storage', props.jetstream?.storage, !props.jetstream || isStorageSize(props.jetstream.storage), 'must be a size such as 1Gi'],
    ['users', props.users.length, props.users.length > 0, 'must name at least one user, or no client can connect'],
    ['users', props.users.map(({ user }) => user).join(', '), new Set(props.users.map(({ user }) => user)).size === props.users.length, 'must not repeat a user'],
    ['nodePort.nodePort', props.nodePort?.nodePort, !props.nodePort || isNodePort(props.nodePort.nodePort),
      `must be a whole number within ${NODE_PORT_RANGE.min}–${NODE_PORT_RANGE.max}`],
    ['install', resolved.install, (NATS_INSTALLS as readonly string[]).includes(resolved.install), `must be one of ${NATS_INSTALLS.join(', ')}`],
    ['release', resolved.release, resolved.install !== 'helmchart' || !K3S_OWN_HELMCHARTS.includes(resolved.release),
      `must not be a HelmChart k3s keeps in ${K3S_HELMCHART_NAMESPACE} (${K3S_OWN_HELMCHARTS.join(', ')}) with install 'helmchart': `
      + 'ours would replace it'],
    ['nodePort.serviceName', nodePortName, !props.nodePort || (isDnsLabel(nodePortName) && !chartServices.includes(nodePortName)),
      `must be a DNS label other than the chart's own Services (${chartServices.join(', ')})`],
  ]);
}
