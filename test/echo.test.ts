import { Testing } from 'cdk8s';
import { EchoChart } from '../charts/echo';
import { parseConfig } from '../lib/config/config';
import { HttpEcho, InvalidPropsError } from '../lib/constructs';
import { httpEchoProps } from '../lib/synth/stack';
import { defaults, objectOf, synth } from './support/fixtures';
import { validateAgainstSchema } from './support/schema';

describe('EchoChart', () => {
  const config = defaults();
  // GIVEN the recipe's echo settings WHEN the chart is synthesized
  const manifests = synth(new EchoChart(Testing.app(), 'echo', { echo: httpEchoProps(config) }));
  const deployment = objectOf(manifests, 'Deployment', 'echo');
  const service = objectOf(manifests, 'Service', 'echo');
  const ingress = objectOf(manifests, 'Ingress', 'echo-ingress');
  const container = deployment.spec.template.spec.containers[0];

  test('emits exactly a Deployment, a Service, the plain Ingress and the HTTPS Ingress, each with an explicit namespace', () => {
    // THEN nothing else is emitted and every object lives in the configured namespace
    expect(manifests.map((o) => `${o.kind}/${o.metadata.name}`).sort())
      .toEqual(['Deployment/echo', 'Ingress/echo-ingress', 'Ingress/echo-ingress-tls', 'Service/echo']);
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

  test('the HTTPS Ingress: pinned to Traefik\'s websecure entry point as a TLS router, serving the echo-tls Secret for the DNS hosts', () => {
    // THEN it is exactly this object: the same route as the plain Ingress, plus the annotations
    // Traefik reads a router's entry points and TLS from, and the Secret its certificate store loads
    const tlsIngress = objectOf(manifests, 'Ingress', 'echo-ingress-tls');
    expect(tlsIngress).toEqual({
      apiVersion: 'networking.k8s.io/v1',
      kind: 'Ingress',
      metadata: {
        name: 'echo-ingress-tls',
        namespace: 'default',
        labels: { 'app.kubernetes.io/name': 'echo' },
        annotations: {
          'traefik.ingress.kubernetes.io/router.entrypoints': 'websecure',
          'traefik.ingress.kubernetes.io/router.tls': 'true',
        },
      },
      spec: {
        ingressClassName: 'traefik',
        rules: ingress.spec.rules,
        // 127.0.0.1 is in the certificate, not here: the API server checks these as DNS names
        tls: [{ hosts: ['localhost'], secretName: 'echo-tls' }],
      },
    });
  });

  test('the plain Ingress stays exactly as before: no annotation, no tls, so its routes keep serving HTTP on :8080', () => {
    expect(Object.keys(ingress.spec).sort()).toEqual(['ingressClassName', 'rules']);
    expect(ingress.metadata).toEqual({ name: 'echo-ingress', namespace: 'default', labels: { 'app.kubernetes.io/name': 'echo' } });
  });

  test('both Ingresses are valid networking.k8s.io/v1 objects, and the validator refuses a broken tls section', () => {
    for (const name of ['echo-ingress', 'echo-ingress-tls']) expect(() => validateAgainstSchema(objectOf(manifests, 'Ingress', name))).not.toThrow();
    const tlsIngress = objectOf(manifests, 'Ingress', 'echo-ingress-tls');
    const broken = { ...tlsIngress, spec: { ...tlsIngress.spec, tls: [{ hosts: 'localhost', secretName: 'echo-tls' }] } };
    expect(() => validateAgainstSchema(broken)).toThrow(/hosts/);
  });

  test.each([
    [['127.0.0.1', '::1'], undefined],
    [['echo.example.test', '192.0.2.7', 'localhost'], ['echo.example.test', 'localhost']],
  ])('echo.tls.hosts %j: the Ingress lists only the DNS names %j', (hosts, expected) => {
    // GIVEN configured hosts mixing DNS names and addresses WHEN synthesized
    const config = parseConfig({ echo: { tls: { hosts, secretName: 'web-cert' } } });
    const tls = objectOf(synth(new EchoChart(Testing.app(), 'echo', { echo: httpEchoProps(config) })), 'Ingress', 'echo-ingress-tls').spec.tls;
    // THEN the Secret is the configured one and no IP address is listed as a host
    expect(tls).toEqual([{ ...(expected ? { hosts: expected } : {}), secretName: 'web-cert' }]);
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
    expect(objectOf(out, 'Ingress', 'echo-ingress-tls').spec.rules[0].http.paths[0].backend.service.port.number).toBe(8081);
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
    // AND without tls there is no HTTPS Ingress
    expect(echo.tlsIngress).toBeUndefined();
  });

  test('with tls it adds the HTTPS Ingress and exposes it', () => {
    const chart = Testing.chart();
    const echo = new HttpEcho(chart, 'hello', { text: 'hello', name: 'hi', tls: { secretName: 'hi-cert', hosts: ['hi.example.test'] } });
    expect(echo.tlsIngress?.name).toBe('hi-ingress-tls');
    const tlsIngress = objectOf(synth(chart), 'Ingress', 'hi-ingress-tls');
    expect(tlsIngress.spec.tls).toEqual([{ hosts: ['hi.example.test'], secretName: 'hi-cert' }]);
    expect(tlsIngress.spec.rules[0].http.paths[0].backend.service.name).toBe('hi');
  });

  test('refuses props it cannot run with, naming each prop and value', () => {
    const attempt = () => new HttpEcho(Testing.chart(), 'bad', { text: ' ', containerPort: 80, runAsUser: 0 });
    expect(attempt).toThrow(InvalidPropsError);
    expect(attempt).toThrow('HttpEcho: text " " must not be empty; containerPort 80 must be a port ≥ 1024: the container does not run as root; '
      + 'runAsUser 0 must be a non-root UID (≥ 1)');
  });

  test.each([
    [{ secretName: 'Echo_TLS', hosts: ['localhost'] }, 'tls.secretName "Echo_TLS" must be a DNS label'],
    [{ secretName: 'echo-tls', hosts: [] }, 'tls.hosts [] must list at least one host, each a DNS name or an IP address'],
    [{ secretName: 'echo-tls', hosts: ['localhost', 'not a host'] },
      'tls.hosts ["localhost","not a host"] must list at least one host, each a DNS name or an IP address'],
  ])('refuses tls %j', (tls, message) => {
    expect(() => new HttpEcho(Testing.chart(), 'bad', { text: 'hi', tls })).toThrow(`HttpEcho: ${message}`);
  });
});
