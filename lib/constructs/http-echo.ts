import { isIP } from 'node:net';
import { Size } from 'cdk8s';
import * as kplus from 'cdk8s-plus-27';
import { Construct } from 'constructs';
import { checkProps } from './check-props';
import { HTTP_ECHO_DEFAULTS } from './defaults';
import { DEFAULT_NAMESPACE, isDnsLabel, isHostName, PORT_MAX, UNPRIVILEGED_PORT_MIN } from './kubernetes-rules';

export { HTTP_ECHO_DEFAULTS };

/** HTTPS for http-echo: Traefik terminates TLS with a certificate from an existing Secret. */
export interface HttpEchoTlsProps {
  /** A `kubernetes.io/tls` Secret in the same namespace, holding `tls.crt` and `tls.key`. */
  readonly secretName: string;
  /** The names the certificate carries: DNS names and IP addresses. At least one. */
  readonly hosts: readonly string[];
}

/**
 * Traefik's Kubernetes Ingress provider (traefik/traefik v3.7, which k3s 1.36 ships;
 * pkg/provider/kubernetes/ingress: kubernetes.go, annotations.go; and pkg/server/aggregator.go)
 * reads an Ingress like this, as v2 did:
 * - `spec.tls` only loads the Secret's certificate into Traefik's certificate store
 *   (getCertificates); it does not make any router a TLS router.
 * - A router's entry points and TLS come only from the annotations
 *   `traefik.ingress.kubernetes.io/router.entrypoints` and `.../router.tls` (parseRouterConfig,
 *   loadRouter), and they apply to every router of that Ingress.
 * - A router without entry points is put on all default entry points (mergeConfiguration); it
 *   becomes TLS there only if the entry point itself says so (applyModel), which is a setting of
 *   the Traefik installation (the chart's `ports.websecure.http.tls.enabled`, true by default and
 *   left so by k3s), not of our manifests.
 * So one Ingress cannot say "plain on web, TLS on websecure": `router.tls: "true"` would make
 * the :8080 routes TLS-only, and leaving it out makes HTTPS depend on how Traefik was installed.
 * Hence two Ingresses: the plain one exactly as before (HTTP on :8080 unchanged), and one pinned
 * to `websecure` with `router.tls` and the certificate Secret.
 */
export const TRAEFIK_TLS_ANNOTATIONS: Readonly<Record<string, string>> = {
  'traefik.ingress.kubernetes.io/router.entrypoints': 'websecure',
  'traefik.ingress.kubernetes.io/router.tls': 'true',
};

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
  /**
   * Also serve HTTPS: a second Ingress, `<name>-ingress-tls`, on Traefik's websecure entry point
   * with the certificate in `tls.secretName`. The plain Ingress stays as it is.
   * @default - plain HTTP only
   */
  readonly tls?: HttpEchoTlsProps;
}

/** hashicorp/http-echo behind an Ingress: a Deployment, a Service and an Ingress on `/`, non-root and sized for a laptop. */
export class HttpEcho extends Construct {
  readonly deployment: kplus.Deployment;
  readonly service: kplus.Service;
  readonly ingress: kplus.Ingress;
  /** The HTTPS Ingress, when `tls` was given. */
  readonly tlsIngress?: kplus.Ingress;
  readonly servicePort: number;
  constructor(scope: Construct, id: string, props: HttpEchoProps) {
    super(scope, id);
    const name = props.name ?? HTTP_ECHO_DEFAULTS.name;
    const containerPort = props.containerPort ?? HTTP_ECHO_DEFAULTS.containerPort;
    this.servicePort = props.servicePort ?? HTTP_ECHO_DEFAULTS.servicePort;
    const user = props.runAsUser ?? HTTP_ECHO_DEFAULTS.runAsUser;
    checkProps('HttpEcho', [
      ['text', props.text, props.text.trim() !== '', 'must not be empty'],
      ['containerPort', containerPort, Number.isInteger(containerPort) && containerPort >= UNPRIVILEGED_PORT_MIN && containerPort <= PORT_MAX,
        `must be a port ≥ ${UNPRIVILEGED_PORT_MIN}: the container does not run as root`],
      ['runAsUser', user, Number.isInteger(user) && user > 0, 'must be a non-root UID (≥ 1)'],
      ['tls.secretName', props.tls?.secretName, !props.tls || isDnsLabel(props.tls.secretName), 'must be a DNS label'],
      ['tls.hosts', props.tls?.hosts, !props.tls || (props.tls.hosts.length > 0 && props.tls.hosts.every(isHostName)),
        'must list at least one host, each a DNS name or an IP address'],
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
        image: props.image ?? HTTP_ECHO_DEFAULTS.image,
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

    const rules: kplus.IngressRule[] = [{
      path: '/',
      pathType: kplus.HttpIngressPathType.PREFIX,
      backend: kplus.IngressBackend.fromService(this.service, { port: this.servicePort }),
    }];
    const className = props.ingressClassName ?? HTTP_ECHO_DEFAULTS.ingressClassName;
    this.ingress = new kplus.Ingress(this, 'ingress', { metadata: metadata(`${name}-ingress`), className, rules });

    if (props.tls) {
      // The API server checks tls.hosts as DNS names (an IPv6 address fails), and clients send no
      // IP address as SNI, so no controller could match one: IP addresses live in the certificate only.
      const dnsHosts = props.tls.hosts.filter((host) => isIP(host) === 0);
      this.tlsIngress = new kplus.Ingress(this, 'ingress-tls', {
        metadata: { ...metadata(`${name}-ingress-tls`), annotations: { ...TRAEFIK_TLS_ANNOTATIONS } },
        className,
        rules,
        tls: [{
          ...(dnsHosts.length > 0 ? { hosts: dnsHosts } : {}),
          secret: kplus.Secret.fromSecretName(this, 'tls-secret', props.tls.secretName),
        }],
      });
    }
  }

  /** The namespace its objects land in: the given one, else the enclosing Chart's, else Kubernetes' default. */
  get namespace(): string {
    return this.deployment.metadata.namespace ?? DEFAULT_NAMESPACE;
  }

  /** The Deployment as `kubectl rollout status` names it. */
  get rolloutResource(): string {
    return `deployment/${this.deployment.name}`;
  }
}
