import { Testing } from 'cdk8s';
import { defineStack } from '../lib/synth/stack';
import { appObjects, defaults, FAKE_TLS } from './support/fixtures';
import { validateAgainstSchema } from './support/schema';

describe('Kubernetes OpenAPI schema', () => {
  // GIVEN every object of the stack the app synthesizes
  const app = Testing.app();
  defineStack(app, defaults(), FAKE_TLS);
  const objects = appObjects(app);

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
