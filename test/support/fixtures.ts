import { App, Testing } from 'cdk8s';
import { Config, parseConfig } from '../../lib/config/config';
import type { StackTls } from '../../lib/synth/stack';

/** The recipe's configuration: every default of lib/config/config.ts. */
export const defaults = (): Config => parseConfig({});

/** Stand-in PEM text: chart tests check wiring, not cryptography (the PKI tests use real certificates). */
export const FAKE_TLS: StackTls = {
  caCert: '-----BEGIN CERTIFICATE-----\nY2E=\n-----END CERTIFICATE-----\n',
  serverCert: '-----BEGIN CERTIFICATE-----\nc2VydmVy\n-----END CERTIFICATE-----\n',
  serverKey: '-----BEGIN EXAMPLE KEY-----\na2V5\n-----END EXAMPLE KEY-----\n',
  echo: { cert: '-----BEGIN CERTIFICATE-----\nZWNobw==\n-----END CERTIFICATE-----\n', key: '-----BEGIN EXAMPLE KEY-----\nZWNobyBrZXk=\n-----END EXAMPLE KEY-----\n' },
};

export interface ApiObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  [field: string]: any;
}

/** Synthesizes a chart and returns the single object of `kind` named `name`. */
export function objectOf(manifests: ApiObject[], kind: string, name: string): ApiObject {
  const matches = manifests.filter((o) => o.kind === kind && o.metadata.name === name);
  if (matches.length !== 1) {
    throw new Error(`expected one ${kind} '${name}', found ${matches.length} among ${manifests.map((o) => `${o.kind}/${o.metadata.name}`).join(', ')}`);
  }
  return matches[0];
}

export const synth = (chart: Parameters<typeof Testing.synth>[0]): ApiObject[] => Testing.synth(chart) as ApiObject[];

/** Every object of every chart in `app`, in file order: what `npm run synth` would write. */
export const appObjects = (app: App): ApiObject[] => app.charts.flatMap((chart) => chart.toJson() as ApiObject[]);

/**
 * A fleet as the configuration lists it: `dev1` … `devN`, each authorized with rules of its own
 * (publishing its telemetry, receiving its commands), the shape issue 19 sizes the limits by.
 */
export const fleetIdentities = (count: number) => Array.from({ length: count }, (_, i) => ({
  name: `dev${i + 1}`, email: `dev${i + 1}@example.com`, authorized: true,
  permissions: { publish: { allow: [`devices.dev${i + 1}.>`] }, subscribe: { allow: [`cmd.dev${i + 1}.>`] } },
}));
