import { Chart, ChartProps } from 'cdk8s';
import { Construct } from 'constructs';
import { k8s } from '../imports/k8s';
import type { NatsConfig } from '../lib/config';
import { TLS_SECRET_KEYS } from '../lib/nats-values';

/** PEM text of the server's identity and the CA that signs every client. */
export interface ServerTlsMaterial {
  readonly caCert: string;
  readonly serverCert: string;
  readonly serverKey: string;
}

export interface NatsTlsChartProps extends ChartProps {
  readonly nats: NatsConfig;
  readonly tls: ServerTlsMaterial;
}

/**
 * The Secret the NATS chart mounts for its server certificate and CA. It holds a private key, so
 * its file in dist/ is git-ignored; everything else in dist/ is committed.
 */
export class NatsTlsChart extends Chart {
  constructor(scope: Construct, id: string, props: NatsTlsChartProps) {
    const { nats, tls } = props;
    super(scope, id, { ...props, namespace: nats.namespace });

    const base64 = (pem: string) => Buffer.from(pem, 'utf8').toString('base64');
    new k8s.KubeSecret(this, 'secret', {
      metadata: { name: nats.tlsSecretName },
      type: 'kubernetes.io/tls',
      data: {
        [TLS_SECRET_KEYS.ca]: base64(tls.caCert),
        [TLS_SECRET_KEYS.cert]: base64(tls.serverCert),
        [TLS_SECRET_KEYS.key]: base64(tls.serverKey),
      },
    });
  }
}
