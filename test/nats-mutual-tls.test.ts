import { App, Chart, Testing } from 'cdk8s';
import { InvalidPropsError, NatsMutualTls } from '../lib/constructs';
import { parseConfig } from '../lib/config';
import { defineStack } from '../lib/stack';
import { appObjects, defaults, FAKE_TLS, objectOf, synth } from './support/fixtures';

const USERS = [{ user: 'client1@example.com' }];

describe('NatsMutualTls on its own', () => {
  // GIVEN a fresh App and only the required props
  const chart = Testing.chart();
  const nats = new NatsMutualTls(chart, 'nats', { tls: FAKE_TLS, users: USERS });
  const manifests = synth(chart);

  test('creates the TLS Secret the chart mounts, in the default namespace nats, and no NodePort', () => {
    expect(manifests.map((o) => `${o.kind}/${o.metadata.name}`)).toEqual(['Secret/nats-server-tls']);
    const secret = objectOf(manifests, 'Secret', 'nats-server-tls');
    expect(secret.metadata.namespace).toBe('nats');
    expect(secret.type).toBe('kubernetes.io/tls');
    const decoded = (key: string) => Buffer.from(secret.data[key], 'base64').toString('utf8');
    expect(Object.keys(secret.data).sort()).toEqual(['ca.crt', 'tls.crt', 'tls.key']);
    expect([decoded('ca.crt'), decoded('tls.crt'), decoded('tls.key')]).toEqual([FAKE_TLS.caCert, FAKE_TLS.serverCert, FAKE_TLS.serverKey]);
    expect(secret.stringData).toBeUndefined();
    expect(nats.nodePortService).toBeUndefined();
  });

  test('exposes what it creates and what the chart will create, by name', () => {
    expect(nats.secret.name).toBe('nats-server-tls');
    expect(nats.chartObjects).toEqual({ statefulSet: 'nats', service: 'nats', headlessService: 'nats-headless', configMap: 'nats-config' });
    expect(nats.rolloutResource).toBe('statefulset/nats');
    expect(nats.chart).toEqual({ name: 'nats', version: '2.14.2', repo: 'https://nats-io.github.io/k8s/helm/charts/' });
  });

  test('its Helm values mount that Secret, map certificates to the users and require client certificates', () => {
    expect(nats.helmValues).toEqual({
      namespaceOverride: 'nats',
      config: {
        nats: { port: 4222, tls: { enabled: true, secretName: 'nats-server-tls', merge: { verify_and_map: true } } },
        merge: { authorization: { users: USERS } },
      },
      tlsCA: { enabled: true, secretName: 'nats-server-tls', key: 'ca.crt' },
      natsBox: { enabled: false },
    });
    expect(nats.valuesDocument).toMatch(/^# Values for the NATS Helm chart nats 2\.14\.2/);
  });
});

describe('NatsMutualTls with a NodePort, another release and a Secret scope', () => {
  const app = new App();
  const secrets = new Chart(app, 'secrets');
  const chart = new Chart(app, 'nats');
  const nats = new NatsMutualTls(chart, 'bus', {
    tls: FAKE_TLS, users: USERS, namespace: 'messaging', release: 'bus', secretName: 'bus-tls', clientPort: 4333,
    nodePort: { nodePort: 30222 }, secretScope: secrets,
  });

  test('the Secret goes into the given scope, everything else stays in its chart', () => {
    expect(synth(secrets).map((o) => `${o.kind}/${o.metadata.name}`)).toEqual(['Secret/bus-tls']);
    expect(synth(chart).map((o) => `${o.kind}/${o.metadata.name}`)).toEqual(['Service/bus-np']);
  });

  test('the NodePort forwards to the chart\'s named client port and selects only the NATS server pods', () => {
    const service = objectOf(synth(chart), 'Service', 'bus-np');
    expect(service.metadata.namespace).toBe('messaging');
    expect(service.spec.type).toBe('NodePort');
    // the current chart names the port 'nats' (not the 0.x chart's 'client'); component keeps nats-box out
    expect(service.spec.ports).toEqual([{ name: 'nats', protocol: 'TCP', port: 4333, targetPort: 'nats', nodePort: 30222 }]);
    expect(service.spec.selector).toEqual({ 'app.kubernetes.io/name': 'nats', 'app.kubernetes.io/instance': 'bus', 'app.kubernetes.io/component': 'nats' });
    expect(nats.nodePortService?.name).toBe('bus-np');
  });

  test('names follow the chart\'s fullname rule for the release', () => {
    expect(nats.chartObjects.statefulSet).toBe('bus-nats');
    expect(nats.rolloutResource).toBe('statefulset/bus-nats');
  });
});

describe('NatsMutualTls validates its props', () => {
  test.each([
    [{ users: [] }, 'users 0 must name at least one user, or no client can connect'],
    [{ users: [{ user: 'a@x.io' }, { user: 'a@x.io' }] }, 'users "a@x.io, a@x.io" must not repeat a user'],
    [{ namespace: 'Bad_NS' }, 'namespace "Bad_NS" must be a DNS label'],
    [{ nodePort: { nodePort: 8080 } }, 'nodePort.nodePort 8080 must be a whole number within 30000–32767'],
    [{ nodePort: { nodePort: 31400, serviceName: 'nats-headless' } }, "nodePort.serviceName \"nats-headless\" must be a DNS label other than the chart's own Services (nats, nats-headless)"],
  ])('%j', (props, message) => {
    const attempt = () => new NatsMutualTls(Testing.chart(), 'nats', { tls: FAKE_TLS, users: USERS, ...props });
    expect(attempt).toThrow(InvalidPropsError);
    expect(attempt).toThrow(`NatsMutualTls: ${message}`);
  });
});

describe('the stack wires the configuration onto the construct', () => {
  test('the recipe: NodePort nats-np on 31400, Secret in its own chart, users from the authorized identities', () => {
    const app = Testing.app();
    const stack = defineStack(app, defaults(), FAKE_TLS);
    expect(app.charts.map((chart) => [chart.node.id, (chart.toJson() as Array<{ kind: string }>).map((o) => o.kind)])).toEqual([
      ['namespaces', ['Namespace']], ['nats-tls', ['Secret']], ['nats-access', ['Service']], ['echo', ['Deployment', 'Service', 'Ingress']],
    ]);
    expect(objectOf(appObjects(app), 'Service', 'nats-np').spec.ports[0].nodePort).toBe(31400);
    expect(stack.nats.helmValues.config.merge.authorization.users).toEqual([{ user: 'client1@example.com' }]);
    expect(stack.echo.rolloutResource).toBe('deployment/echo');
  });

  test('follows the configured release, namespace, node port and client port', () => {
    const config = parseConfig({ nats: { release: 'bus', namespace: 'messaging', nodePortServiceName: 'bus-np', clientPort: 4333 }, cluster: { ports: { nats: { nodePort: 30222 } } } });
    const app = Testing.app();
    const stack = defineStack(app, config, FAKE_TLS);
    const service = objectOf(appObjects(app), 'Service', 'bus-np');
    expect(service.metadata.namespace).toBe('messaging');
    expect(service.spec.ports[0]).toMatchObject({ port: 4333, nodePort: 30222 });
    expect(stack.nats.rolloutResource).toBe('statefulset/bus-nats');
  });
});

describe('NatsMutualTls as a cluster with JetStream', () => {
  const ROUTE = { cert: '-----BEGIN CERTIFICATE-----\ncm91dGU=\n-----END CERTIFICATE-----\n', key: 'route-key' };

  test('3 replicas: the route Secret beside the server one, cluster values with route TLS verify, and the chart\'s route URLs', () => {
    const chart = Testing.chart();
    const nats = new NatsMutualTls(chart, 'nats', { tls: { ...FAKE_TLS, route: ROUTE }, users: USERS, replicas: 3, jetstream: { storage: '2Gi' } });
    const manifests = synth(chart);
    const routeSecret = objectOf(manifests, 'Secret', 'nats-route-tls');
    expect(Object.keys(routeSecret.data).sort()).toEqual(['tls.crt', 'tls.key']);
    expect(Buffer.from(routeSecret.data['tls.crt'], 'base64').toString()).toBe(ROUTE.cert);
    expect(nats.helmValues.config.cluster).toEqual({ enabled: true, replicas: 3, tls: { enabled: true, secretName: 'nats-route-tls', merge: { verify: true } } });
    expect(nats.helmValues.config.jetstream).toEqual({ enabled: true, fileStore: { pvc: { size: '2Gi' } } });
    expect(nats.routeUrls).toEqual(['tls://nats-0.nats-headless:6222', 'tls://nats-1.nats-headless:6222', 'tls://nats-2.nats-headless:6222']);
    expect(nats.routeSecret?.name).toBe('nats-route-tls');
  });

  test('one server: no cluster and no route Secret, whatever route material is given', () => {
    const chart = Testing.chart();
    const nats = new NatsMutualTls(chart, 'nats', { tls: { ...FAKE_TLS, route: ROUTE }, users: USERS });
    expect(synth(chart).map((o) => o.metadata.name)).toEqual(['nats-server-tls']);
    expect(nats.helmValues.config.cluster).toBeUndefined();
    expect(nats.helmValues.config.jetstream).toBeUndefined();
    expect(nats.routeUrls).toEqual([]);
  });

  test.each([
    [{ replicas: 2, tls: { ...FAKE_TLS, route: ROUTE } }, 'replicas 2 must be 1, 3 or 5: a cluster needs an odd number of servers for a quorum'],
    [{ replicas: 3 }, 'tls.route undefined must hold the route certificate and key when replicas > 1: the routes use mutual TLS'],
    [{ jetstream: { storage: 'lots' } }, 'jetstream.storage "lots" must be a size such as 1Gi'],
  ])('refuses %j', (props, message) => {
    expect(() => new NatsMutualTls(Testing.chart(), 'nats', { tls: FAKE_TLS, users: USERS, ...props })).toThrow(`NatsMutualTls: ${message}`);
  });

  test('the whole stack with replicas: 3 and JetStream is schema-valid, and the route Secret sits with the other Secrets', () => {
    const { validateAgainstSchema } = require('./support/schema') as typeof import('./support/schema');
    const app = Testing.app();
    defineStack(app, parseConfig({ nats: { replicas: 3, jetstream: { enabled: true } } }), { ...FAKE_TLS, route: ROUTE });
    const secrets = app.charts.find((chart) => chart.node.id === 'nats-tls')!.toJson() as Array<{ metadata: { name: string } }>;
    expect(secrets.map((o) => o.metadata.name)).toEqual(['nats-server-tls', 'nats-route-tls']);
    for (const object of appObjects(app)) expect(() => validateAgainstSchema(object)).not.toThrow();
  });
});
