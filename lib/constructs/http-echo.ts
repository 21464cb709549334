import { Size } from 'cdk8s';
import * as kplus from 'cdk8s-plus-27';
import { Construct } from 'constructs';
import { checkProps } from './check-props';

export interface HttpEchoProps {
  /** What every request is answered with. */
  readonly text: string;
  /**
   * Name of the Deployment and the Service; the Ingress is `<name>-ingress`.
   * @default 'echo'
   */
  readonly name?: string;
  /**
   * Namespace of the objects.
   * @default - the namespace of the enclosing Chart
   */
  readonly namespace?: string;
  /**
   * The image, pinned by tag or digest.
   * @default 'hashicorp/http-echo:1.0.0'
   */
  readonly image?: string;
  /**
   * Port http-echo listens on: unprivileged, since the container does not run as root.
   * @default 5678
   */
  readonly containerPort?: number;
  /**
   * Port of the Service.
   * @default 80
   */
  readonly servicePort?: number;
  /**
   * Numeric user (and group) the container runs as. The image is distroless `static:nonroot`, user
   * 65532; a number lets the kubelet check runAsNonRoot before the container starts.
   * @default 65532
   */
  readonly runAsUser?: number;
  /**
   * Ingress class of the controller that routes to it (k3s ships Traefik).
   * @default 'traefik'
   */
  readonly ingressClassName?: string;
}

/** hashicorp/http-echo behind an Ingress: a Deployment, a Service and an Ingress on `/`, non-root and sized for a laptop. */
export class HttpEcho extends Construct {
  readonly deployment: kplus.Deployment;
  readonly service: kplus.Service;
  readonly ingress: kplus.Ingress;
  readonly servicePort: number;
  constructor(scope: Construct, id: string, props: HttpEchoProps) {
    super(scope, id);
    const name = props.name ?? 'echo';
    const containerPort = props.containerPort ?? 5678;
    this.servicePort = props.servicePort ?? 80;
    const user = props.runAsUser ?? 65532;
    checkProps('HttpEcho', [
      ['text', props.text, props.text.trim() !== '', 'must not be empty'],
      ['containerPort', containerPort, Number.isInteger(containerPort) && containerPort >= 1024 && containerPort <= 65535,
        'must be a port ≥ 1024: the container does not run as root'],
      ['runAsUser', user, Number.isInteger(user) && user > 0, 'must be a non-root UID (≥ 1)'],
    ]);
    const metadata = (objectName: string) => ({ name: objectName, ...(props.namespace ? { namespace: props.namespace } : {}) });

    // Selected by a label we name, not by cdk8s's construct-path hash: a Deployment's selector is
    // immutable, so it must not change when the construct tree is reorganised.
    const podLabels = { 'app.kubernetes.io/name': name, 'app.kubernetes.io/component': 'http-echo' };
    this.deployment = new kplus.Deployment(this, 'deployment', {
      metadata: metadata(name),
      replicas: 1,
      select: false,
      podMetadata: { labels: podLabels },
      securityContext: { user, group: user, ensureNonRoot: true },
      containers: [{
        name: 'http-echo',
        image: props.image ?? 'hashicorp/http-echo:1.0.0',
        imagePullPolicy: kplus.ImagePullPolicy.IF_NOT_PRESENT,
        args: [`-listen=:${containerPort}`, `-text=${props.text}`],
        ports: [{ number: containerPort, name: 'http' }],
        securityContext: { user, group: user, ensureNonRoot: true, readOnlyRootFilesystem: true, allowPrivilegeEscalation: false },
        // Sized for a laptop cluster; the cdk8s-plus defaults reserve a whole CPU and 512Mi.
        resources: {
          cpu: { request: kplus.Cpu.millis(10), limit: kplus.Cpu.millis(100) },
          memory: { request: Size.mebibytes(16), limit: Size.mebibytes(32) },
        },
        readiness: kplus.Probe.fromHttpGet('/', { port: containerPort }),
      }],
    });
    this.deployment.select(kplus.LabelSelector.of({ labels: podLabels }));

    this.service = new kplus.Service(this, 'service', {
      metadata: metadata(name),
      selector: kplus.Pods.select(this, 'pods', { labels: podLabels }),
      ports: [{ name: 'http', port: this.servicePort, targetPort: containerPort }],
    });

    this.ingress = new kplus.Ingress(this, 'ingress', {
      metadata: metadata(`${name}-ingress`),
      className: props.ingressClassName ?? 'traefik',
      rules: [{
        path: '/',
        pathType: kplus.HttpIngressPathType.PREFIX,
        backend: kplus.IngressBackend.fromService(this.service, { port: this.servicePort }),
      }],
    });
  }

  /** The namespace its objects land in: the given one, else the enclosing Chart's, else Kubernetes' default. */
  get namespace(): string {
    return this.deployment.metadata.namespace ?? 'default';
  }

  /** The Deployment as `kubectl rollout status` names it. */
  get rolloutResource(): string {
    return `deployment/${this.deployment.name}`;
  }
}
