import { parseConfig } from '../lib/config/config';
import { ConfigError } from '../lib/util/errors';

/** The settings of echo over HTTPS and of the k3s HelmChart install path. */

const problemsOf = (raw: unknown): string[] => {
  try {
    parseConfig(raw);
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
  throw new Error('expected a ConfigError');
};

describe('echo.tls', () => {
  test('defaults to localhost and 127.0.0.1 in Secret echo-tls', () => {
    expect(parseConfig({}).echo.tls).toEqual({ hosts: ['localhost', '127.0.0.1'], secretName: 'echo-tls' });
  });

  test('takes DNS names and IPv4 and IPv6 addresses, and keeps the other defaults', () => {
    const { echo } = parseConfig({ echo: { tls: { hosts: ['echo.lan.test', '192.168.1.20', '::1'] } } });
    expect(echo.tls).toEqual({ hosts: ['echo.lan.test', '192.168.1.20', '::1'], secretName: 'echo-tls' });
    expect(echo.text).toBe('Hello from echo');
  });

  test.each([
    ['no host', { hosts: [] }, /^echo\.tls\.hosts: must name at least one host/],
    ['a host that is neither a DNS name nor an address', { hosts: ['localhost', 'Echo_Host'] },
      /^echo\.tls\.hosts\[1\]: must be a DNS name \(lower-case labels of letters, digits and '-'\) or an IP address/],
    ['a bad Secret name', { secretName: 'Echo TLS' }, /^echo\.tls\.secretName: must be a Secret name/],
    ['a misspelt key', { host: ['localhost'] }, /^echo\.tls: unknown key\(s\) 'host'/],
  ])('rejects %s, naming the field', (_what, tls, message) => {
    expect(problemsOf({ echo: { tls } })).toEqual([expect.stringMatching(message)]);
  });

  test("'echo' is reserved for keys/echo.crt: no identity may take that name", () => {
    expect(problemsOf({ pki: { identities: [{ name: 'echo', email: 'e@example.com', authorized: true }] } }))
      .toEqual([expect.stringMatching(/^pki\.identities\['echo'\]\.name: 'echo' is reserved for keys\/echo\.crt: choose another name/)]);
  });
});

describe('nats.install', () => {
  test.each(['template', 'helmchart'])('accepts %s', (install) => {
    expect(parseConfig({ nats: { install } }).nats.install).toBe(install);
  });

  test('rejects anything else with the allowed values', () => {
    expect(problemsOf({ nats: { install: 'helm' } })).toEqual([`nats.install: must be 'template' or 'helmchart' (got "helm")`]);
  });
});
