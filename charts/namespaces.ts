import { Chart, ChartProps } from 'cdk8s';
import * as kplus from 'cdk8s-plus-27';
import { Construct } from 'constructs';

export interface NamespacesChartProps extends ChartProps {
  /** Namespaces this stack creates; `default` and other built-in ones are left alone. */
  readonly names: readonly string[];
}

/** Namespaces first, in their own file, so everything namespaced can be applied after them. */
export class NamespacesChart extends Chart {
  constructor(scope: Construct, id: string, props: NamespacesChartProps) {
    super(scope, id, props);
    for (const name of props.names) {
      new kplus.Namespace(this, name, { metadata: { name } });
    }
  }
}
