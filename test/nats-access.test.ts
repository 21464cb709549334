import { Testing } from 'cdk8s';
import { NamespacesChart } from '../charts/namespaces';
import { NatsAccessChart } from '../charts/nats-access';
import { parseConfig } from '../lib/config';
import { defaults, objectOf, synth } from './support/fixtures';

describe('NatsAccessChart', () => {
  test('NodePort nats-np forwards node port 31400 to the chart\'s named client port', () => {
    // GIVEN the recipe's configuration WHEN the chart is synthesized
    const config = defaults();
    const manifests = synth(new NatsAccessChart(Testing.app(), 'nats-access', { nats: config.nats, cluster: config.cluster }));
    // THEN there is one NodePort Service in namespace nats
    expect(manifests).toHaveLength(1);
    const service = objectOf(manifests, 'Service', 'nats-np');
    expect(service.metadata.namespace).toBe('nats');
    expect(service.spec.type).toBe('NodePort');
    // AND it targets the port by the name the current chart uses ('nats', not the 0.x chart's 'client')
    expect(service.spec.ports).toEqual([{ name: 'nats', protocol: 'TCP', port: 4222, targetPort: 'nats', nodePort: 31400 }]);
  });

  test('selects only the NATS server pods, not nats-box', () => {
    const config = defaults();
    const service = objectOf(synth(new NatsAccessChart(Testing.app(), 'nats-access', { nats: config.nats, cluster: config.cluster })), 'Service', 'nats-np');
    expect(service.spec.selector).toEqual({
      'app.kubernetes.io/name': 'nats',
      'app.kubernetes.io/instance': 'nats',
      'app.kubernetes.io/component': 'nats',
    });
  });

  test('follows the configured release, namespace, node port and client port', () => {
    // GIVEN a different release in another namespace
    const config = parseConfig({ nats: { release: 'bus', namespace: 'messaging', nodePortServiceName: 'bus-np', clientPort: 4333 }, cluster: { ports: { nats: { nodePort: 30222 } } } });
    // WHEN synthesized
    const service = objectOf(synth(new NatsAccessChart(Testing.app(), 'nats-access', { nats: config.nats, cluster: config.cluster })), 'Service', 'bus-np');
    // THEN the selector and ports follow
    expect(service.metadata.namespace).toBe('messaging');
    expect(service.spec.selector['app.kubernetes.io/instance']).toBe('bus');
    expect(service.spec.ports[0]).toMatchObject({ port: 4333, nodePort: 30222 });
  });
});

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
