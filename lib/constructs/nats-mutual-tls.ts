import { Construct } from 'constructs';
import { k8s } from '../../imports/k8s';
import {
  DEFAULT_NATS_CHART, NATS_CLIENT_PORT_NAME, natsChartObjects, natsPodSelector, TLS_SECRET_KEYS,
  type NatsChartObjects, type NatsChartRef,
} from '../nats-chart';
import { natsHelmValues, natsValuesDocument, type NatsChartValues, type NatsUser } from '../nats-values';
import { checkProps } from './check-props';

/** PEM text of the server's identity and of the CA that signs every client. */
export interface ServerTlsMaterial {
  readonly caCert: string;
  readonly serverCert: string;
  readonly serverKey: string;
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
   * Expose the client port on every node.
   * @default - no NodePort: clients inside the cluster use the chart's Service
   */
  readonly nodePort?: NatsNodePortProps;
  /**
   * Where the Secret goes. Pass a Chart of its own so the file holding the private key can stay out
   * of git while the rest is committed.
   * @default - this construct
   */
  readonly secretScope?: Construct;
}

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;
const NODE_PORTS = { min: 30000, max: 32767 };

/**
 * NATS on Kubernetes that admits only clients holding a certificate from our CA whose email maps
 * to a NATS user (`verify_and_map`), for the official NATS Helm chart: the TLS Secret the chart
 * mounts, an optional NodePort, the typed Helm values, and the names of what the chart creates.
 * The chart itself is rendered by `helm template` from `valuesDocument` (or installed by any tool).
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
  /** What the chart renders for this release, by name: the StatefulSet to wait for, the Services to reach. */
  readonly chartObjects: NatsChartObjects;
  /** Values for the chart. */
  readonly helmValues: NatsChartValues;

  constructor(scope: Construct, id: string, props: NatsMutualTlsProps) {
    super(scope, id);
    this.namespace = props.namespace ?? 'nats';
    this.release = props.release ?? 'nats';
    this.chart = props.chart ?? DEFAULT_NATS_CHART;
    this.clientPort = props.clientPort ?? 4222;
    const secretName = props.secretName ?? 'nats-server-tls';
    this.chartObjects = natsChartObjects(this.release, this.chart.name);
    validate(props, { namespace: this.namespace, release: this.release, secretName, chartObjects: this.chartObjects });

    const base64 = (pem: string) => Buffer.from(pem, 'utf8').toString('base64');
    this.secret = new k8s.KubeSecret(props.secretScope ?? this, `${id}-server-tls`, {
      metadata: { name: secretName, namespace: this.namespace },
      type: 'kubernetes.io/tls',
      data: {
        [TLS_SECRET_KEYS.ca]: base64(props.tls.caCert),
        [TLS_SECRET_KEYS.cert]: base64(props.tls.serverCert),
        [TLS_SECRET_KEYS.key]: base64(props.tls.serverKey),
      },
    });

    if (props.nodePort) this.nodePortService = this.addNodePort(props.nodePort);
    this.helmValues = natsHelmValues({ namespace: this.namespace, secretName, clientPort: this.clientPort, users: props.users });
  }

  /** dist/helm/nats-values.yaml: the values as YAML, headed by where they come from. */
  get valuesDocument(): string {
    return natsValuesDocument(this.helmValues, this.chart);
  }

  /** The StatefulSet as `kubectl rollout status` names it. */
  get rolloutResource(): string {
    return `statefulset/${this.chartObjects.statefulSet}`;
  }

  // The low-level construct: kplus.Service cannot target a port by name, and the chart's pods are
  // selected by the chart's labels, not by a construct of ours.
  private addNodePort(props: NatsNodePortProps): k8s.KubeService {
    return new k8s.KubeService(this, 'node-port', {
      metadata: {
        name: props.serviceName ?? `${this.release}-np`,
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
  readonly chartObjects: NatsChartObjects;
}

function validate(props: NatsMutualTlsProps, resolved: Resolved): void {
  const chartServices = [resolved.chartObjects.service, resolved.chartObjects.headlessService];
  const nodePortName = props.nodePort?.serviceName ?? `${resolved.release}-np`;
  checkProps('NatsMutualTls', [
    ['namespace', resolved.namespace, DNS_LABEL.test(resolved.namespace), 'must be a DNS label'],
    ['release', resolved.release, DNS_LABEL.test(resolved.release) && resolved.release.length <= 53, 'must be a DNS label of at most 53 characters'],
    ['secretName', resolved.secretName, DNS_LABEL.test(resolved.secretName), 'must be a DNS label'],
    ['users', props.users.length, props.users.length > 0, 'must name at least one user, or no client can connect'],
    ['users', props.users.map(({ user }) => user).join(', '), new Set(props.users.map(({ user }) => user)).size === props.users.length, 'must not repeat a user'],
    ['nodePort.nodePort', props.nodePort?.nodePort, !props.nodePort || (Number.isInteger(props.nodePort.nodePort)
      && props.nodePort.nodePort >= NODE_PORTS.min && props.nodePort.nodePort <= NODE_PORTS.max), `must be a whole number within ${NODE_PORTS.min}–${NODE_PORTS.max}`],
    ['nodePort.serviceName', nodePortName, !props.nodePort || (DNS_LABEL.test(nodePortName) && !chartServices.includes(nodePortName)),
      `must be a DNS label other than the chart's own Services (${chartServices.join(', ')})`],
  ]);
}
