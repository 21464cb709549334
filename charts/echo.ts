import { Chart, ChartProps, Size } from 'cdk8s';
import * as kplus from 'cdk8s-plus-27';
import { Construct } from 'constructs';
import type { EchoConfig } from '../lib/config';

export interface EchoChartProps extends ChartProps {
  readonly echo: EchoConfig;
}

/** hashicorp/http-echo behind Traefik: Deployment, Service and Ingress on `/`. */
export class EchoChart extends Chart {
  constructor(scope: Construct, id: string, props: EchoChartProps) {
    const { echo } = props;
    const labels = { 'app.kubernetes.io/name': echo.name, ...props.labels };
    super(scope, id, { ...props, namespace: echo.namespace, labels });

    const deployment = new kplus.Deployment(this, 'deployment', {
      metadata: { name: echo.name },
      replicas: 1,
      podMetadata: { labels },
      securityContext: { user: echo.runAsUser, group: echo.runAsUser, ensureNonRoot: true },
      containers: [{
        name: 'http-echo',
        image: echo.image,
        imagePullPolicy: kplus.ImagePullPolicy.IF_NOT_PRESENT,
        args: [`-listen=:${echo.containerPort}`, `-text=${echo.text}`],
        ports: [{ number: echo.containerPort, name: 'http' }],
        // Numeric IDs: the image's user is a name, and runAsNonRoot can only be checked on a number.
        securityContext: {
          user: echo.runAsUser,
          group: echo.runAsUser,
          ensureNonRoot: true,
          readOnlyRootFilesystem: true,
          allowPrivilegeEscalation: false,
        },
        // Sized for a laptop cluster; the cdk8s-plus defaults reserve a whole CPU and 512Mi.
        resources: {
          cpu: { request: kplus.Cpu.millis(10), limit: kplus.Cpu.millis(100) },
          memory: { request: Size.mebibytes(16), limit: Size.mebibytes(32) },
        },
        readiness: kplus.Probe.fromHttpGet('/', { port: echo.containerPort }),
      }],
    });

    const service = new kplus.Service(this, 'service', {
      metadata: { name: echo.name },
      selector: deployment,
      ports: [{ name: 'http', port: echo.servicePort, targetPort: echo.containerPort }],
    });

    new kplus.Ingress(this, 'ingress', {
      metadata: { name: `${echo.name}-ingress` },
      className: 'traefik',
      rules: [{
        path: '/',
        pathType: kplus.HttpIngressPathType.PREFIX,
        backend: kplus.IngressBackend.fromService(service, { port: echo.servicePort }),
      }],
    });
  }
}
