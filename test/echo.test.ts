import { Testing } from 'cdk8s';
import { EchoChart } from '../charts/echo';
import { HttpEcho, InvalidPropsError } from '../lib/constructs';
import { httpEchoProps } from '../lib/stack';
import { defaults, objectOf, synth } from './support/fixtures';

describe('EchoChart', () => {
  const config = defaults();
  // GIVEN the recipe's echo settings WHEN the chart is synthesized
  const manifests = synth(new EchoChart(Testing.app(), 'echo', { echo: httpEchoProps(config) }));
  const deployment = objectOf(manifests, 'Deployment', 'echo');
  const service = objectOf(manifests, 'Service', 'echo');
  const ingress = objectOf(manifests, 'Ingress', 'echo-ingress');
  const container = deployment.spec.template.spec.containers[0];

  test('emits exactly a Deployment, a Service and an Ingress, each with an explicit namespace', () => {
    // THEN nothing else is emitted and every object lives in the configured namespace
    expect(manifests.map((o) => `${o.kind}/${o.metadata.name}`).sort()).toEqual(['Deployment/echo', 'Ingress/echo-ingress', 'Service/echo']);
    for (const object of manifests) expect(object.metadata.namespace).toBe('default');
  });

  test('runs a pinned http-echo on an unprivileged port with the configured text', () => {
    expect(container.image).toBe('hashicorp/http-echo:1.0.0');
    expect(container.args).toEqual(['-listen=:5678', '-text=Hello from echo']);
    expect(container.ports).toEqual([{ containerPort: 5678, name: 'http' }]);
    expect(container.imagePullPolicy).toBe('IfNotPresent');
  });

  test('runs as a numeric non-root user with a read-only root filesystem', () => {
    // THEN the kubelet can check runAsNonRoot, because the UID is numeric
    expect(container.securityContext).toMatchObject({
      runAsNonRoot: true, runAsUser: 65532, runAsGroup: 65532, readOnlyRootFilesystem: true, allowPrivilegeEscalation: false,
    });
    expect(deployment.spec.template.spec.securityContext).toMatchObject({ runAsNonRoot: true, runAsUser: 65532 });
  });

  test('asks for laptop-sized resources and is ready only when it answers HTTP', () => {
    expect(container.resources).toEqual({ requests: { cpu: '10m', memory: '16Mi' }, limits: { cpu: '100m', memory: '32Mi' } });
    expect(container.readinessProbe.httpGet).toEqual({ path: '/', port: 5678, scheme: 'HTTP' });
  });

  test('Service maps port 80 to the container port and selects the Deployment pods', () => {
    expect(service.spec.type).toBe('ClusterIP');
    expect(service.spec.ports).toEqual([{ name: 'http', port: 80, targetPort: 5678 }]);
    expect(service.spec.selector).toEqual(deployment.spec.selector.matchLabels);
    expect(deployment.spec.template.metadata.labels).toMatchObject(service.spec.selector);
  });

  test('selects its pods by labels it names, not by a construct-path hash (a Deployment selector is immutable)', () => {
    expect(deployment.spec.selector.matchLabels).toEqual({ 'app.kubernetes.io/name': 'echo', 'app.kubernetes.io/component': 'http-echo' });
  });

  test('Ingress is networking.k8s.io/v1 for Traefik, routing / (Prefix) to echo:80', () => {
    expect(ingress.apiVersion).toBe('networking.k8s.io/v1');
    expect(ingress.spec.ingressClassName).toBe('traefik');
    expect(ingress.metadata.annotations).toBeUndefined();
    expect(ingress.spec.rules).toEqual([{
      http: { paths: [{ path: '/', pathType: 'Prefix', backend: { service: { name: 'echo', port: { number: 80 } } } }] },
    }]);
  });

  test('follows the configuration: text, ports, namespace and user', () => {
    // GIVEN other settings
    const custom = { ...httpEchoProps(config), namespace: 'web', text: 'hi there', containerPort: 9000, servicePort: 8081, runAsUser: 1234 };
    // WHEN synthesized
    const out = synth(new EchoChart(Testing.app(), 'echo', { echo: custom }));
    // THEN every derived field follows
    const c = objectOf(out, 'Deployment', 'echo').spec.template.spec.containers[0];
    expect(c.args).toEqual(['-listen=:9000', '-text=hi there']);
    expect(c.securityContext.runAsUser).toBe(1234);
    expect(objectOf(out, 'Service', 'echo').spec.ports).toEqual([{ name: 'http', port: 8081, targetPort: 9000 }]);
    expect(objectOf(out, 'Ingress', 'echo-ingress').spec.rules[0].http.paths[0].backend.service.port.number).toBe(8081);
    for (const object of out) expect(object.metadata.namespace).toBe('web');
  });

  test('snapshot (a supplement to the assertions above)', () => {
    expect(manifests).toMatchSnapshot();
  });
});

describe('HttpEcho on its own', () => {
  test('needs only its text in a fresh App, and exposes what it creates', () => {
    // GIVEN a bare chart WHEN an HttpEcho is added with only the required prop
    const chart = Testing.chart();
    const echo = new HttpEcho(chart, 'hello', { text: 'hello' });
    const manifests = synth(chart);
    // THEN it creates the three objects with the documented defaults, under the names it exposes
    expect(manifests.map((o) => `${o.kind}/${o.metadata.name}`).sort()).toEqual(['Deployment/echo', 'Ingress/echo-ingress', 'Service/echo']);
    expect(echo.deployment.name).toBe('echo');
    expect(echo.service.name).toBe('echo');
    expect(echo.ingress.name).toBe('echo-ingress');
    expect(echo.rolloutResource).toBe('deployment/echo');
    const container = objectOf(manifests, 'Deployment', 'echo').spec.template.spec.containers[0];
    expect(container.image).toBe('hashicorp/http-echo:1.0.0');
    expect(container.args).toEqual(['-listen=:5678', '-text=hello']);
    expect(objectOf(manifests, 'Ingress', 'echo-ingress').spec.ingressClassName).toBe('traefik');
  });

  test('refuses props it cannot run with, naming each prop and value', () => {
    const attempt = () => new HttpEcho(Testing.chart(), 'bad', { text: ' ', containerPort: 80, runAsUser: 0 });
    expect(attempt).toThrow(InvalidPropsError);
    expect(attempt).toThrow('HttpEcho: text " " must not be empty; containerPort 80 must be a port ≥ 1024: the container does not run as root; '
      + 'runAsUser 0 must be a non-root UID (≥ 1)');
  });
});
