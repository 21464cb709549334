import { Testing } from 'cdk8s';
import { NatsTlsChart } from '../charts/nats-tls';
import { defaults, FAKE_TLS, objectOf, synth } from './support/fixtures';

describe('NatsTlsChart', () => {
  const config = defaults();
  // GIVEN the server's PEM material WHEN the chart is synthesized
  const manifests = synth(new NatsTlsChart(Testing.app(), 'nats-tls', { nats: config.nats, tls: FAKE_TLS }));
  const secret = objectOf(manifests, 'Secret', 'nats-server-tls');
  const decoded = (key: string) => Buffer.from(secret.data[key], 'base64').toString('utf8');

  test('emits one TLS Secret named as configured in the NATS namespace', () => {
    expect(manifests).toHaveLength(1);
    expect(secret.metadata.namespace).toBe('nats');
    expect(secret.type).toBe('kubernetes.io/tls');
  });

  test('holds exactly ca.crt, tls.crt and tls.key with the given PEM text', () => {
    expect(Object.keys(secret.data).sort()).toEqual(['ca.crt', 'tls.crt', 'tls.key']);
    expect(decoded('ca.crt')).toBe(FAKE_TLS.caCert);
    expect(decoded('tls.crt')).toBe(FAKE_TLS.serverCert);
    expect(decoded('tls.key')).toBe(FAKE_TLS.serverKey);
    expect(secret.stringData).toBeUndefined();
  });
});
