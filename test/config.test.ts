import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { echoUrl, k3dContext, loadConfig, natsUrl, parseConfig } from '../lib/config/config';
import { CONFIG_ENV } from '../lib/config/layout';
import { ConfigError } from '../lib/util/errors';

/** The problems ConfigError reports for `raw`; fails the test when `raw` is accepted. */
function problems(raw: unknown): string[] {
  try {
    parseConfig(raw);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return (error as ConfigError).problems;
  }
  throw new Error(`accepted: ${JSON.stringify(raw)}`);
}

describe('configuration defaults', () => {
  test('reproduce the recipe', () => {
    // GIVEN no overrides WHEN loaded THEN the recipe's values come back
    const config = parseConfig({});
    expect(config.cluster).toEqual({
      name: 'dev',
      image: 'rancher/k3s:v1.36.3-k3s1',
      agents: 0,
      ports: { http: { host: 8080, container: 80 }, https: { host: 8443, container: 443 }, nats: { host: 4222, nodePort: 31400 } },
    });
    expect(config.echo.text).toBe('Hello from echo');
    expect(config.nats).toEqual({
      namespace: 'nats', release: 'nats', tlsSecretName: 'nats-server-tls', nodePortServiceName: 'nats-np', clientPort: 4222,
      chart: { name: 'nats', version: '2.14.2', repo: 'https://nats-io.github.io/k8s/helm/charts/' },
      // one server, no JetStream: the recipe
      replicas: 1, routeTlsSecretName: 'nats-route-tls', jetstream: { enabled: false, storage: '1Gi' },
      // the deploy script renders the chart; k3s's HelmChart path is opt-in
      install: 'template',
    });
    expect(config.pki).toMatchObject({ dir: 'keys', validityDays: 1000, keyType: 'rsa', keyBits: 2048 });
    expect(config.pki.identities).toEqual([
      { name: 'client1', email: 'client1@example.com', authorized: true },
      { name: 'client2', authorized: false },
    ]);
  });

  test('derive the context and URLs the scripts use', () => {
    const { cluster } = parseConfig({ cluster: { name: 'lab', ports: { http: { host: 9080, container: 80 }, nats: { host: 14222 } } } });
    expect(k3dContext(cluster)).toBe('k3d-lab');
    expect(echoUrl(cluster)).toBe('http://localhost:9080');
    expect(natsUrl(cluster)).toBe('tls://localhost:14222');
  });

  test('accepts a plain-http chart repository and a pre-release chart version', () => {
    const chart = { name: 'nats', version: '2.14.2-rc.1', repo: 'http://127.0.0.1:8879/charts/' };
    expect(parseConfig({ nats: { chart } }).nats.chart).toEqual(chart);
  });

  test('accepts an image pinned by digest', () => {
    const image = `hashicorp/http-echo@sha256:${'a'.repeat(64)}`;
    expect(parseConfig({ echo: { image } }).echo.image).toBe(image);
  });

  test('a partial override keeps every other default', () => {
    const config = parseConfig({ cluster: { ports: { nats: { nodePort: 30000 } } } });
    expect(config.cluster.ports.nats).toEqual({ host: 4222, nodePort: 30000 });
    expect(config.cluster.ports.http).toEqual({ host: 8080, container: 80 });
  });
});

describe('configuration validation names the field and the allowed values', () => {
  test.each([
    ['a nodePort outside 30000–32767', { cluster: { ports: { nats: { nodePort: 8080 } } } },
      /^cluster\.ports\.nats\.nodePort: must be a NodePort within 30000–32767 \(got 8080\)$/],
    ['a port that is not a port', { cluster: { ports: { http: { host: 70000, container: 80 } } } },
      /^cluster\.ports\.http\.host: must be a port number 1–65535/],
    ['a host-port collision', { cluster: { ports: { nats: { host: 8080 } } } },
      /^cluster\.ports\.nats\.host: host port 8080 is already used by cluster\.ports\.http\.host/],
    ['an empty echo text', { echo: { text: '   ' } }, /^echo\.text: must not be empty/],
    ['a privileged echo port', { echo: { containerPort: 80 } }, /^echo\.containerPort: must be ≥ 1024/],
    ['an invalid cluster name', { cluster: { name: 'Dev_1' } }, /^cluster\.name: must be a k3d cluster name: lower-case letters/],
    ['a negative number of agents', { cluster: { agents: -1 } }, /^cluster\.agents: must be 0 or more agent nodes \(got -1\)$/],
    ['a fraction of an agent', { cluster: { agents: 1.5 } }, /^cluster\.agents: must be a whole number \(got 1\.5\)$/],
    ['more agents than a laptop runs', { cluster: { agents: 10 } }, /^cluster\.agents: must be at most 9: every agent is a k3s container on this machine \(got 10\)$/],
    ['an instance name that cannot be a label value', { instance: 'Team A' }, /^instance: must be a name for this deployment: lower-case letters/],
    ['an unpinned image', { echo: { image: 'hashicorp/http-echo:latest' } }, /^echo\.image: must pin a version tag/],
    ['an invalid DNS name', { pki: { server: { extraDnsNames: ['nats..local'] } } }, /^pki\.server\.extraDnsNames\[0\]: must be a DNS name/],
    ['an invalid IP', { pki: { server: { extraIps: ['300.1.1.1'] } } }, /^pki\.server\.extraIps\[0\]: must be an IPv4 or IPv6 address/],
    ['an invalid email', { pki: { identities: [{ name: 'c1', email: 'c1-at-example.com', authorized: true }] } },
      /^pki\.identities\['c1'\]\.email: must be an email address/],
    ['a duplicate identity', { pki: { identities: [{ name: 'c1', email: 'a@example.com', authorized: true }, { name: 'c1' }] } },
      /^pki\.identities\['c1'\]\.name: duplicate identity 'c1'/],
    ['a duplicate email', { pki: { identities: [{ name: 'a', email: 'x@example.com', authorized: true }, { name: 'b', email: 'x@example.com' }] } },
      /^pki\.identities\['b'\]\.email: duplicate email 'x@example.com'/],
    ['an identity named like the CA file', { pki: { identities: [{ name: 'ca', email: 'ca@example.com', authorized: true }] } },
      /^pki\.identities\['ca'\]\.name: 'ca' is reserved/],
    ['an authorized identity without email', { pki: { identities: [{ name: 'c1', authorized: true }] } },
      /^pki\.identities\['c1'\]\.authorized: an authorized identity needs an email/],
    ['no authorized identity', { pki: { identities: [{ name: 'c2' }] } }, /^pki\.identities: no identity is authorized/],
    ['an identity without a name, named by its place', { pki: { identities: [{ name: 'c1', email: 'a@example.com', authorized: true }, { email: 'b@example.com' }] } },
      /^pki\.identities\[1\]\.name: is required$/],
    ['a renewal window as long as the validity', { pki: { validityDays: 30, renewWithinDays: 30 } },
      /^pki\.renewWithinDays: must be less than pki\.validityDays \(30\)/],
    ['an unsupported key size', { pki: { keyBits: 1024 } }, /^pki\.keyBits: must be 2048, 3072 or 4096/],
    ['an unknown key type', { pki: { keyType: 'ed25519' } }, /^pki\.keyType: must be 'rsa' or 'ecdsa' \(got "ed25519"\)$/],
    ['an RSA key size for ECDSA keys', { pki: { keyType: 'ecdsa', keyBits: 4096 } }, /^pki\.keyBits: sizes RSA keys only: remove it, or set pki\.keyType to rsa \(ECDSA keys are P-256\)/],
    ['a chart version outside the typed schema', { nats: { chart: { version: '0.19.17' } } }, /^nats\.chart\.version: must be an exact 1\.x or 2\.x chart version/],
    ['a chart version that is not SemVer', { nats: { chart: { version: '2.014.2' } } }, /^nats\.chart\.version: must be an exact 1\.x or 2\.x chart version in SemVer/],
    ['a chart version range', { nats: { chart: { version: '^2.14.0' } } }, /^nats\.chart\.version: must be an exact/],
    ['a chart name helm would take for a flag', { nats: { chart: { name: '--post-renderer=./evil.sh' } } },
      /^nats\.chart\.name: must be a Helm chart name: letters, digits, '\.', '_' and '-', starting with a letter or digit/],
    ['a chart name helm would take for a local path', { nats: { chart: { name: '../nats' } } }, /^nats\.chart\.name: must be a Helm chart name/],
    ['a chart name with white space', { nats: { chart: { name: 'nats --devel' } } }, /^nats\.chart\.name: must be a Helm chart name/],
    ['an OCI registry as chart repository', { nats: { chart: { repo: 'oci://ghcr.io/nats-io/charts' } } },
      /^nats\.chart\.repo: must be an http:\/\/ or https:\/\/ chart repository: helm template --repo reads an index\.yaml and cannot read an oci:\/\/ registry/],
    ['a chart repository that is not http(s)', { nats: { chart: { repo: 'file:///etc/' } } },
      /^nats\.chart\.repo: must be an http:\/\/ or https:\/\/ chart repository URL \(got "file:\/\/\/etc\/"\)$/],
    ['a chart repository that is no URL', { nats: { chart: { repo: '--post-renderer=./evil.sh' } } }, /^nats\.chart\.repo: must be an http:\/\/ or https:\/\//],
    ['a chart repository URL with a password', { nats: { chart: { repo: 'https://me:secret@charts.example.com/' } } },
      /^nats\.chart\.repo: must not carry credentials: the URL is written into dist\//],
    ['a NodePort name the chart already uses', { nats: { nodePortServiceName: 'nats' } },
      /^nats\.nodePortServiceName: 'nats' is a Service the NATS chart creates \(nats, nats-headless\)/],
    ['a NodePort name the chart already uses for its release', { nats: { release: 'bus', nodePortServiceName: 'bus-nats-headless' } },
      /^nats\.nodePortServiceName: 'bus-nats-headless' is a Service the NATS chart creates/],
    ['a release name Helm refuses', { nats: { release: 'r'.repeat(54) } }, /^nats\.release: must be at most 53 characters/],
    ['a misspelt key', { nats: { tlsSecret: 'x' } }, /^nats: unknown key\(s\) 'tlsSecret'/],
    ['a wrong type', { echo: { servicePort: '80' } }, /^echo\.servicePort: /],
    ['an even number of NATS servers', { nats: { replicas: 2 } }, /^nats\.replicas: must be 1, 3 or 5: a cluster needs an odd number of servers for a quorum/],
    ['more than 5 NATS servers', { nats: { replicas: 7 } }, /^nats\.replicas: must be 1, 3 or 5/],
    ['a JetStream size Kubernetes cannot read', { nats: { jetstream: { storage: '1GB' } } }, /^nats\.jetstream\.storage: must be a size such as 512Mi, 1Gi or 10Gi/],
    ['one Secret for clients and routes', { nats: { routeTlsSecretName: 'nats-server-tls' } }, /^nats\.routeTlsSecretName: must differ from nats\.tlsSecretName/],
    ['an identity named like the route certificate', { pki: { identities: [{ name: 'route', email: 'r@example.com', authorized: true }] } },
      /^pki\.identities\['route'\]\.name: 'route' is reserved/],
    ['NATS in kube-system', { nats: { namespace: 'kube-system' } }, /^nats\.namespace: must not be a namespace of Kubernetes itself \(kube-system, kube-public, kube-node-lease\)/],
    ['echo in kube-public', { echo: { namespace: 'kube-public' } }, /^echo\.namespace: must not be a namespace of Kubernetes itself/],
    ['echo in kube-node-lease', { echo: { namespace: 'kube-node-lease' } }, /^echo\.namespace: must not be a namespace of Kubernetes itself/],
    ['the project folder as pki.dir', { pki: { dir: '.' } }, /^pki\.dir: must be a folder inside the project, not the project folder itself \(got "\."\)$/],
    ['a pki.dir outside the project', { pki: { dir: '../keys' } }, /^pki\.dir: must stay inside the project folder \(no '\.\.'\) \(got "\.\.\/keys"\)$/],
    ['an absolute pki.dir', { pki: { dir: '/etc' } }, /^pki\.dir: must be a path relative to the project folder, not an absolute path/],
    ['a pki.dir in node_modules', { pki: { dir: 'node_modules/keys' } }, /^pki\.dir: must not be inside node_modules\//],
  ])('rejects %s', (_what, raw, expected) => {
    // GIVEN a bad setting WHEN parsed THEN exactly one problem names it
    const found = problems(raw);
    expect(found).toHaveLength(1);
    expect(found[0]).toMatch(expected);
  });

  test('reports every problem at once, with the source in the message', () => {
    try {
      parseConfig({ echo: { text: '' }, cluster: { ports: { nats: { nodePort: 1 } } } }, 'my.yaml');
      throw new Error('accepted');
    } catch (error) {
      expect((error as ConfigError).problems).toHaveLength(2);
      expect((error as Error).message).toMatch(/^Invalid configuration in my\.yaml:\n {2}- /);
    }
  });
});

describe('loadConfig', () => {
  const dir = mkdtempSync(join(tmpdir(), 'config-'));

  test('uses the defaults when there is no k3s-nats-tls.yaml', () => {
    expect(loadConfig(dir, {})).toEqual(parseConfig({}));
  });

  test('reads overrides from k3s-nats-tls.yaml', () => {
    const project = mkdtempSync(join(tmpdir(), 'config-'));
    writeFileSync(join(project, 'k3s-nats-tls.yaml'), 'echo:\n  text: Hi from YAML\n');
    expect(loadConfig(project, {}).echo.text).toBe('Hi from YAML');
  });

  test(`reads the file ${CONFIG_ENV} names, and names the file in errors`, () => {
    const file = join(dir, 'custom.yaml');
    writeFileSync(file, 'cluster:\n  ports:\n    nats:\n      nodePort: 99\n');
    expect(() => loadConfig(dir, { [CONFIG_ENV]: file })).toThrow(`Invalid configuration in ${file}: cluster.ports.nats.nodePort`);
  });

  test(`fails when ${CONFIG_ENV} names a missing file`, () => {
    expect(() => loadConfig(dir, { [CONFIG_ENV]: 'nope.yaml' })).toThrow(/names a file that does not exist/);
  });

  test.each([
    ['an unknown tag', 'echo:\n  text: !shout hello\n', 'line 2, column 9: unknown YAML tag !shout: remove it, the configuration takes plain YAML values'],
    ['two documents', 'echo:\n  text: a\n---\necho:\n  text: b\n',
      "holds more than one YAML document (the second starts at line 3): keep one, with no '---' line between settings"],
    ['a key twice', 'echo:\n  text: a\n  text: b\n', 'not valid YAML at line 3, column 3: Map keys must be unique'],
  ])('reports %s as one line naming the file, and prints nothing itself', (_what, yaml, problem) => {
    const file = join(dir, 'odd.yaml');
    writeFileSync(file, yaml);
    const warnings: unknown[] = [];
    const onWarning = (warning: unknown) => warnings.push(warning);
    process.on('warning', onWarning);
    try {
      expect(() => loadConfig(dir, { [CONFIG_ENV]: file })).toThrow(new ConfigError(file, [problem]));
      expect(new ConfigError(file, [problem]).message).toBe(`Invalid configuration in ${file}: ${problem}`);
    } finally {
      process.off('warning', onWarning);
    }
    expect(warnings).toEqual([]);
  });

  test('reports invalid YAML as a configuration error', () => {
    const file = join(dir, 'broken.yaml');
    writeFileSync(file, 'echo: [unclosed\n');
    expect(() => loadConfig(dir, { [CONFIG_ENV]: file })).toThrow(/not valid YAML/);
  });
});
