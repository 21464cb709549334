import { Chart, ChartProps } from 'cdk8s';
import { Construct } from 'constructs';

/**
 * The chart that holds the Secrets (private keys): constructs place their Secrets here (see
 * `NatsMutualTls`'s `secretScope`), so that exactly one file of dist/ is git-ignored and
 * owner-only while every other manifest is committed.
 */
export class SecretsChart extends Chart {
  constructor(scope: Construct, id: string, props: ChartProps = {}) {
    super(scope, id, props);
  }
}
