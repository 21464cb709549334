import { Testing } from 'cdk8s';
import { EchoChart } from '../charts/echo';
import { NamespacesChart } from '../charts/namespaces';
import { NatsAccessChart } from '../charts/nats-access';
import { NatsTlsChart } from '../charts/nats-tls';
import { defaults, FAKE_TLS, synth } from './support/fixtures';
import { validateAgainstSchema } from './support/schema';

describe('Kubernetes OpenAPI schema', () => {
  // GIVEN every chart the app synthesizes
  const config = defaults();
  const app = Testing.app();
  const objects = [
    ...synth(new NamespacesChart(app, 'namespaces', { names: [config.nats.namespace] })),
    ...synth(new NatsTlsChart(app, 'nats-tls', { nats: config.nats, tls: FAKE_TLS })),
    ...synth(new NatsAccessChart(app, 'nats-access', { nats: config.nats, cluster: config.cluster })),
    ...synth(new EchoChart(app, 'echo', { echo: config.echo })),
  ];

  test.each(objects.map((o) => [`${o.kind}/${o.metadata.name}`, o]))('%s is valid', (_name, object) => {
    // WHEN validated against the schema THEN it passes
    expect(() => validateAgainstSchema(object)).not.toThrow();
  });

  test('the validator rejects a broken object (so the checks above can fail)', () => {
    // GIVEN a Service whose port is a string WHEN validated THEN the failing path is named
    const service = objects.find((o) => o.kind === 'Service')!;
    const broken = { ...service, spec: { ...service.spec, ports: [{ port: 'eighty' }] } };
    expect(() => validateAgainstSchema(broken)).toThrow(/port/);
  });

  test('every namespaced object names its namespace explicitly', () => {
    const withoutNamespace = objects.filter((o) => o.kind !== 'Namespace' && !o.metadata.namespace);
    expect(withoutNamespace.map((o) => `${o.kind}/${o.metadata.name}`)).toEqual([]);
  });
});
