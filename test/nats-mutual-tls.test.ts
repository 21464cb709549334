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
