import { Chart, ChartProps } from 'cdk8s';
import * as kplus from 'cdk8s-plus-27';
import { Construct } from 'constructs';
import { BUILT_IN_NAMESPACES } from '../lib/constructs/kubernetes-rules';

export interface NamespacesChartProps extends ChartProps {
  /** Namespaces the stack's objects live in; duplicates and built-in ones are skipped. */
  readonly names: readonly string[];
}

/** Namespaces first, in their own file, so everything namespaced can be applied after them. */
export class NamespacesChart extends Chart {
  constructor(scope: Construct, id: string, props: NamespacesChartProps) {
    super(scope, id, props);
    for (const name of new Set(props.names)) {
      if (!BUILT_IN_NAMESPACES.includes(name)) new kplus.Namespace(this, name, { metadata: { name } });
    }
  }
}
