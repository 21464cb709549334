import { Testing } from 'cdk8s';
import { parse as parseYaml } from 'yaml';
import { natsFullname, natsServiceHostnames, parseConfig, type Config } from '../lib/config/config';
import { natsPodSelector } from '../lib/nats/chart';
import { natsAuthorization, natsNodeSpread } from '../lib/nats/values';
import { defineStack, plannedStack } from '../lib/synth/stack';
import { appObjects, defaults, FAKE_TLS, objectOf } from './support/fixtures';

/** The values as they ship: the stack's construct makes them from the configuration. */
const natsHelmValues = (config: Config) => plannedStack(config).nats.helmValues;

describe('natsHelmValues', () => {
  test('configures TLS from the Secret, the CA, verify_and_map and the authorized users (chart 2.x keys)', () => {
    // GIVEN the recipe WHEN values are built THEN they are exactly the current chart's keys
    expect(natsHelmValues(defaults())).toEqual({
      namespaceOverride: 'nats',
      config: {
        nats: { port: 4222, tls: { enabled: true, secretName: 'nats-server-tls', merge: { verify_and_map: true } } },
        merge: { authorization: { users: [{ user: 'client1@example.com' }] } },
      },
      tlsCA: { enabled: true, secretName: 'nats-server-tls', key: 'ca.crt' },
      natsBox: { enabled: false },
    });
  });

  test('uses none of the 0.x chart keys the recipe passed (silently ignored by the current chart)', () => {
    const values = natsHelmValues(defaults()) as unknown as Record<string, unknown>;
    expect(values).not.toHaveProperty('nats');
    expect(values).not.toHaveProperty('auth');
  });

  test('authorizes exactly the identities marked authorized, by email', () => {
    // GIVEN three identities, one with an email but not authorized
    const config = parseConfig({
      pki: {
        identities: [
          { name: 'alice', email: 'alice@example.com', authorized: true },
          { name: 'bob', email: 'bob@example.com' },
          { name: 'carol', email: 'carol@example.com', authorized: true },
        ],
      },
    });
    // THEN only alice and carol become users
    expect(natsAuthorization(config.pki.identities)).toEqual({ users: [{ user: 'alice@example.com' }, { user: 'carol@example.com' }] });
  });
});

describe('spreading the servers over the nodes', () => {
  test('one server: no spread, the recipe\'s values unchanged', () => {
    expect(natsHelmValues(defaults())).not.toHaveProperty('podTemplate');
  });

  test('a cluster: one server per node by hostname, scheduled anyway when there are fewer nodes', () => {
    // GIVEN three servers WHEN values are built THEN the chart's podTemplate map holds the spread by hostname
    const values = natsHelmValues(parseConfig({ nats: { replicas: 3 } }));
    expect(values.podTemplate).toEqual({
      topologySpreadConstraints: { 'kubernetes.io/hostname': { maxSkew: 1, whenUnsatisfiable: 'ScheduleAnyway' } },
    });
  });

  test('the constraint the chart renders counts exactly this release\'s server pods, not nats-box', () => {
    // GIVEN release bus (so the default release cannot pass by coincidence)
    const config = parseConfig({ nats: { release: 'bus', replicas: 5 } });
    const constraint = natsNodeSpread(natsPodSelector(config.nats.release, config.nats.chart.name));
    // THEN the selector is the chart's server-pod labels, and the values are the rest of the constraint, keyed by topologyKey
    expect(constraint.labelSelector.matchLabels).toEqual({
      'app.kubernetes.io/name': 'nats', 'app.kubernetes.io/instance': 'bus', 'app.kubernetes.io/component': 'nats',
    });
    const { topologyKey, labelSelector: _chartAddsIt, ...rest } = constraint;
    expect(natsHelmValues(config).podTemplate?.topologySpreadConstraints).toEqual({ [topologyKey]: rest });
  });
});

describe('consistency between the values, the Secret and the NodePort', () => {
  // GIVEN a non-default release, namespace and secret name, so coincidences cannot pass
  const config = parseConfig({ nats: { release: 'bus', namespace: 'messaging', tlsSecretName: 'bus-tls' } });
  const values = natsHelmValues(config);
  const app = Testing.app();
  const stack = defineStack(app, config, FAKE_TLS);
  const secret = objectOf(appObjects(app), 'Secret', 'bus-tls');
  const nodePort = objectOf(appObjects(app), 'Service', 'nats-np');

  test('the construct carries exactly these values into dist/helm/nats-values.yaml', () => {
    expect(parseYaml(stack.nats.valuesDocument)).toEqual(values);
    expect(stack.nats.valuesDocument).toContain('secretName: bus-tls');
  });

  test('the chart mounts the Secret cdk8s synthesizes, with keys it holds', () => {
    expect(values.config.nats.tls.secretName).toBe(secret.metadata.name);
    expect(values.tlsCA.secretName).toBe(secret.metadata.name);
    expect(Object.keys(secret.data)).toEqual(expect.arrayContaining([values.tlsCA.key, 'tls.crt', 'tls.key']));
  });

  test('the Secret, the NodePort and the rendered chart share one namespace', () => {
    expect(secret.metadata.namespace).toBe('messaging');
    expect(nodePort.metadata.namespace).toBe('messaging');
    expect(values.namespaceOverride).toBe('messaging');
  });

  test('the NodePort selects the pods of this release and forwards to the chart\'s client port', () => {
    expect(nodePort.spec.selector).toEqual(natsPodSelector(config.nats.release));
    expect(nodePort.spec.selector['app.kubernetes.io/instance']).toBe('bus');
    expect(nodePort.spec.ports[0].port).toBe(values.config.nats.port);
  });

  test('in-cluster names follow the chart\'s Service name, <release>-nats unless the release contains "nats"', () => {
    expect(natsServiceHostnames(config.nats)).toEqual(['bus-nats', 'bus-nats.messaging', 'bus-nats.messaging.svc', 'bus-nats.messaging.svc.cluster.local']);
    expect(natsServiceHostnames(defaults().nats)).toEqual(['nats', 'nats.nats', 'nats.nats.svc', 'nats.nats.svc.cluster.local']);
  });

  test('natsFullname follows the chart\'s rule', () => {
    expect(natsFullname(defaults().nats)).toBe('nats');
    expect(natsFullname(parseConfig({ nats: { release: 'my-nats' } }).nats)).toBe('my-nats');
    expect(natsFullname(parseConfig({ nats: { release: 'messaging' } }).nats)).toBe('messaging-nats');
  });
});
