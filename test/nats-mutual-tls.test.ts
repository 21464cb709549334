import { App, Chart, Testing } from 'cdk8s';
import { parse } from 'yaml';
import { parseConfig } from '../lib/config/config';
import { InvalidPropsError, NatsMutualTls } from '../lib/constructs';
import { defineStack } from '../lib/synth/stack';
import { appObjects, defaults, FAKE_TLS, objectOf, synth } from './support/fixtures';
import { validateAgainstSchema } from './support/schema';

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
  test('the recipe: NodePort nats-np on 31400, Secrets in their own chart, users from the authorized identities', () => {
    const app = Testing.app();
    const stack = defineStack(app, defaults(), FAKE_TLS);
    expect(app.charts.map((chart) => [chart.node.id, (chart.toJson() as Array<{ kind: string }>).map((o) => o.kind)])).toEqual([
      ['namespaces', ['Namespace']], ['nats-tls', ['Secret', 'Secret']], ['nats-access', ['Service']], ['echo', ['Deployment', 'Service', 'Ingress', 'Ingress']],
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
    expect(secrets.map((o) => o.metadata.name)).toEqual(['nats-server-tls', 'nats-route-tls', 'echo-tls']);
    for (const object of appObjects(app)) expect(() => validateAgainstSchema(object)).not.toThrow();
  });
});

describe('NatsMutualTls install paths', () => {
  test('by default the chart is left to `helm template`: no HelmChart object, and the construct says so', () => {
    // GIVEN no install prop WHEN synthesized
    const chart = Testing.chart();
    const nats = new NatsMutualTls(chart, 'nats', { tls: FAKE_TLS, users: USERS });
    // THEN only the Secret is emitted and the one install path is `template`
    expect(synth(chart).map((o) => o.kind)).toEqual(['Secret']);
    expect(nats.install).toBe('template');
    expect(nats.helmChart).toBeUndefined();
    expect(nats.helmInstallJob).toBeUndefined();
  });

  describe("install: 'helmchart'", () => {
    // GIVEN k3s is to install the chart, for a release and namespace of our own
    const app = new App();
    const secrets = new Chart(app, 'secrets');
    const chart = new Chart(app, 'nats', { namespace: 'messaging' });
    const nats = new NatsMutualTls(chart, 'bus', {
      tls: FAKE_TLS, users: USERS, namespace: 'messaging', release: 'bus', install: 'helmchart', secretScope: secrets,
      chart: { name: 'nats', version: '2.14.1', repo: 'https://charts.example.test/nats/' },
    });
    const objects = synth(chart);
    const helmChart = objectOf(objects, 'HelmChart', 'bus');

    test('adds exactly one HelmChart, in kube-system where k3s looks for them, named after the release', () => {
      expect(objects.map((o) => `${o.apiVersion} ${o.kind}/${o.metadata.name}`)).toEqual(['helm.cattle.io/v1 HelmChart/bus']);
      expect(helmChart.metadata).toEqual({ name: 'bus', namespace: 'kube-system' });
    });

    test('carries the pinned chart, its repository, the target namespace and the values as YAML', () => {
      expect(helmChart.spec).toEqual({
        chart: 'nats', repo: 'https://charts.example.test/nats/', version: '2.14.1', targetNamespace: 'messaging', valuesContent: expect.any(String),
      });
      // THEN the values are the construct's typed values, the very YAML dist/helm/nats-values.yaml holds below its header
      expect(parse(helmChart.spec.valuesContent)).toEqual(nats.helmValues);
      expect(nats.valuesDocument.endsWith(helmChart.spec.valuesContent)).toBe(true);
      expect(parse(helmChart.spec.valuesContent).config.nats.tls)
        .toEqual({ enabled: true, secretName: 'nats-server-tls', merge: { verify_and_map: true } });
    });

    test('holds no key material (it is committed); the Secret still goes to the Secret scope', () => {
      const text = JSON.stringify(helmChart);
      for (const pem of [FAKE_TLS.serverKey, FAKE_TLS.serverCert, FAKE_TLS.caCert]) {
        expect(text).not.toContain(pem.split('\n')[1]);
        expect(text).not.toContain(Buffer.from(pem).toString('base64'));
      }
      expect(synth(secrets).map((o) => `${o.kind}/${o.metadata.name}`)).toEqual(['Secret/nats-server-tls']);
    });

    test('is valid against the HelmChart CRD schema', () => {
      expect(() => validateAgainstSchema(helmChart)).not.toThrow();
    });

    test('exposes the active install path and the Job k3s runs, so a driver never also applies a rendering', () => {
      expect(nats.install).toBe('helmchart');
      expect(nats.helmChart?.name).toBe('bus');
      expect(nats.helmInstallJob).toEqual({ namespace: 'kube-system', resource: 'job/helm-install-bus' });
      // the chart's objects keep their names: the release is the same
      expect(nats.rolloutResource).toBe('statefulset/bus-nats');
    });
  });

  test.each([
    [{ install: 'helm' as never }, 'install "helm" must be one of template, helmchart'],
    [{ install: 'helmchart' as const, release: 'traefik' },
      "release \"traefik\" must not be a HelmChart k3s keeps in kube-system (traefik, traefik-crd) with install 'helmchart': ours would replace it"],
  ])('refuses %j', (props, message) => {
    expect(() => new NatsMutualTls(Testing.chart(), 'nats', { tls: FAKE_TLS, users: USERS, ...props })).toThrow(`NatsMutualTls: ${message}`);
  });

  test('a release named traefik is fine when the chart is templated (it is not a HelmChart then)', () => {
    expect(() => new NatsMutualTls(Testing.chart(), 'nats', { tls: FAKE_TLS, users: USERS, release: 'traefik' })).not.toThrow();
  });

  test("the stack with nats.install: helmchart puts the HelmChart beside the NodePort, in the committed file, and is schema-valid", () => {
    // GIVEN the configuration asks k3s to install the chart WHEN the stack is defined
    const app = Testing.app();
    const stack = defineStack(app, parseConfig({ nats: { install: 'helmchart' } }), FAKE_TLS);
    // THEN the HelmChart is in the nats-access chart, never with the Secrets
    const kindsOf = (id: string) => (app.charts.find((chart) => chart.node.id === id)!.toJson() as Array<{ kind: string }>).map((o) => o.kind);
    expect(kindsOf('nats-access')).toEqual(['Service', 'HelmChart']);
    expect(kindsOf('nats-tls')).toEqual(['Secret', 'Secret']);
    expect(stack.nats.install).toBe('helmchart');
    for (const object of appObjects(app)) expect(() => validateAgainstSchema(object)).not.toThrow();
  });
});
