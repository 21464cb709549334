import { Chart, ChartProps } from 'cdk8s';
import { Construct } from 'constructs';
import { HttpEcho, HTTP_ECHO_DEFAULTS, type HttpEchoProps } from '../lib/constructs';

export interface EchoChartProps extends ChartProps {
  readonly echo: HttpEchoProps;
}

/** http-echo behind Traefik, in a chart of its own so its manifest is one committed file. */
export class EchoChart extends Chart {
  readonly echo: HttpEcho;

  constructor(scope: Construct, id: string, props: EchoChartProps) {
    const name = props.echo.name ?? HTTP_ECHO_DEFAULTS.name;
    super(scope, id, { ...props, namespace: props.echo.namespace, labels: { 'app.kubernetes.io/name': name, ...props.labels } });
    this.echo = new HttpEcho(this, 'echo', props.echo);
  }
}
