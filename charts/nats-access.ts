import { Chart, ChartProps } from 'cdk8s';
import { Construct } from 'constructs';
import { k8s } from '../imports/k8s';
import type { ClusterConfig, NatsConfig } from '../lib/config';
import { NATS_CLIENT_PORT_NAME, natsPodSelector } from '../lib/nats-values';

export interface NatsAccessChartProps extends ChartProps {
  readonly nats: NatsConfig;
  readonly cluster: ClusterConfig;
}

/**
 * The NodePort that k3d maps to a host port, so clients outside the cluster reach NATS. cdk8s owns
 * it rather than the chart so the selector and target port are typed and tested next to the values.
 */
export class NatsAccessChart extends Chart {
  constructor(scope: Construct, id: string, props: NatsAccessChartProps) {
    const { nats, cluster } = props;
    super(scope, id, { ...props, namespace: nats.namespace });

    // The low-level construct: kplus.Service cannot target a port by name, and the chart's pods are
    // selected by the chart's labels, not by a construct of ours.
    new k8s.KubeService(this, 'node-port', {
      metadata: {
        name: nats.nodePortServiceName,
        labels: { 'app.kubernetes.io/name': nats.chart.name, 'app.kubernetes.io/instance': nats.release },
      },
      spec: {
        type: 'NodePort',
        selector: natsPodSelector(nats),
        ports: [{
          name: NATS_CLIENT_PORT_NAME,
          protocol: 'TCP',
          port: nats.clientPort,
          targetPort: k8s.IntOrString.fromString(NATS_CLIENT_PORT_NAME),
          nodePort: cluster.ports.nats.nodePort,
        }],
      },
    });
  }
}
