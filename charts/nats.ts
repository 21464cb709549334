import { Chart, ChartProps } from 'cdk8s';
import { Construct } from 'constructs';
import { NatsMutualTls, type NatsMutualTlsProps } from '../lib/constructs';

export interface NatsChartProps extends ChartProps {
  readonly nats: NatsMutualTlsProps;
}

/** NATS over mutual TLS: the NodePort and the Helm values; its Secret goes wherever `nats.secretScope` says. */
export class NatsChart extends Chart {
  readonly nats: NatsMutualTls;

  constructor(scope: Construct, id: string, props: NatsChartProps) {
    super(scope, id, { ...props, namespace: props.nats.namespace ?? 'nats' });
    this.nats = new NatsMutualTls(this, 'nats', props.nats);
  }
}
