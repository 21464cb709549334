import { Chart, ChartProps } from 'cdk8s';
import { Construct } from 'constructs';
import { NATS_MUTUAL_TLS_DEFAULTS, NatsMutualTls, type NatsMutualTlsProps } from '../lib/constructs';

export interface NatsChartProps extends ChartProps {
  readonly nats: NatsMutualTlsProps;
}

/** NATS over mutual TLS: the NodePort and the Helm values; its Secret goes wherever `nats.secretScope` says. */
export class NatsChart extends Chart {
  readonly nats: NatsMutualTls;

  constructor(scope: Construct, id: string, props: NatsChartProps) {
    super(scope, id, { ...props, namespace: props.nats.namespace ?? NATS_MUTUAL_TLS_DEFAULTS.namespace });
    this.nats = new NatsMutualTls(this, 'nats', props.nats);
  }
}
