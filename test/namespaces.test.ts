import { Testing } from 'cdk8s';
import { NamespacesChart } from '../charts/namespaces';
import { synth } from './support/fixtures';

describe('NamespacesChart', () => {
  test('skips built-in namespaces and duplicates, so down --context can never delete them', () => {
    // GIVEN echo in 'default' and in a namespace of its own, beside nats
    const manifests = synth(new NamespacesChart(Testing.app(), 'namespaces', { names: ['nats', 'default', 'kube-system', 'web', 'nats'] }));
    // THEN only the stack's own namespaces are declared, once each
    expect(manifests.map((o) => o.metadata.name)).toEqual(['nats', 'web']);
  });

  test('creates each named namespace, without a namespace of its own', () => {
    const manifests = synth(new NamespacesChart(Testing.app(), 'namespaces', { names: ['nats', 'other'] }));
    expect(manifests.map((o) => [o.apiVersion, o.kind, o.metadata.name])).toEqual([['v1', 'Namespace', 'nats'], ['v1', 'Namespace', 'other']]);
    for (const object of manifests) expect(object.metadata.namespace).toBeUndefined();
  });
});
