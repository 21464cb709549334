import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Testing } from 'cdk8s';
import { CustomResourceDefinition } from 'kubernetes-models/apiextensions.k8s.io/v1';
import { parse } from 'yaml';
import {
  HelmChart, HelmChartSpecDriver, HelmChartSpecFailurePolicy, HelmChartSpecServerSide, HelmChartSpecSet, type HelmChartSpec,
} from '../imports/helm.cattle.io';
import { HELMCHART_CRD } from './support/crd-schema';

const CRD_FILE = join(__dirname, '..', 'imports', 'helmchart-crd.yaml');

/** Every spec field set, so the rendering shows each field name the construct writes. */
const EVERY_FIELD: Required<HelmChartSpec> = {
  targetNamespace: 'nats', createNamespace: false, chart: 'nats', version: '2.14.2', repo: 'https://charts.example.test/',
  repoCa: 'PEM', repoCaConfigMap: { name: 'ca' }, set: { replicas: HelmChartSpecSet.fromNumber(3), 'image.tag': HelmChartSpecSet.fromString('v1') },
  values: { a: { b: 1 } }, valuesContent: 'a: 1\n', valuesSecrets: [{ name: 'values', keys: ['values.yaml'], ignoreUpdates: true }],
  helmVersion: 'v3', bootstrap: false, takeOwnership: false, serverSide: HelmChartSpecServerSide.AUTO, forceConflicts: false, chartContent: 'dGd6', jobImage: 'rancher/klipper-helm:v0.9.4', backOffLimit: 3,
  timeout: '5m0s', failurePolicy: HelmChartSpecFailurePolicy.ABORT, authSecret: { name: 'auth' }, authPassCredentials: false,
  insecureSkipTlsVerify: false, plainHttp: false, dockerRegistrySecret: { name: 'registry' }, podSecurityContext: { runAsNonRoot: true },
  securityContext: { readOnlyRootFilesystem: true }, driver: HelmChartSpecDriver.SECRET,
};

describe('imports/helmchart-crd.yaml', () => {
  test('is a valid apiextensions.k8s.io/v1 CRD for the namespaced helm.cattle.io/v1 HelmChart', () => {
    // GIVEN the CRD file WHEN validated against the Kubernetes OpenAPI schema THEN it passes
    const crd = parse(readFileSync(CRD_FILE, 'utf8'));
    expect(() => new CustomResourceDefinition(crd).validate()).not.toThrow();
    const { group, version, kind, scope } = HELMCHART_CRD;
    expect([group, version, kind, scope]).toEqual(['helm.cattle.io', 'v1', 'HelmChart', 'Namespaced']);
    expect(crd.metadata.name).toBe('helmcharts.helm.cattle.io');
  });

  test('declares the spec fields the project relies on with their types', () => {
    const spec = HELMCHART_CRD.schema.properties.spec.properties;
    for (const field of ['chart', 'repo', 'version', 'targetNamespace', 'valuesContent']) {
      expect([field, spec[field].type]).toEqual([field, 'string']);
    }
    expect(spec.createNamespace.type).toBe('boolean');
    expect(spec.failurePolicy.enum).toEqual(['abort', 'reinstall', 'retry']);
    expect(spec.serverSide.enum).toEqual(['true', 'false', 'auto']);
  });
});

describe('the typed HelmChart construct (imports/helm.cattle.io.ts)', () => {
  test('writes exactly the CRD\'s spec fields, under the CRD\'s names, and the result passes the CRD\'s schema', () => {
    // GIVEN every prop set WHEN rendered
    const manifest = HelmChart.manifest({ metadata: { name: 'nats', namespace: 'kube-system' }, spec: EVERY_FIELD });
    // THEN the field names are the schema's (repoCA, plainHTTP, insecureSkipTLSVerify…), none missing, none extra
    expect(Object.keys(manifest.spec).sort()).toEqual(Object.keys(HELMCHART_CRD.schema.properties.spec.properties).sort());
    expect(manifest.spec.set).toEqual({ replicas: 3, 'image.tag': 'v1' });
    expect(() => HELMCHART_CRD.validate(manifest)).not.toThrow();
  });

  test('in an App it synthesizes as helm.cattle.io/v1 HelmChart, leaving out what was not set', () => {
    const chart = Testing.chart();
    new HelmChart(chart, 'chart', { metadata: { name: 'nats', namespace: 'kube-system' }, spec: { chart: 'nats', targetNamespace: 'nats' } });
    expect(Testing.synth(chart)).toEqual([{
      apiVersion: 'helm.cattle.io/v1', kind: 'HelmChart',
      metadata: { name: 'nats', namespace: 'kube-system' },
      spec: { chart: 'nats', targetNamespace: 'nats' },
    }]);
  });
});

describe('the CRD schema check', () => {
  const valid = { apiVersion: 'helm.cattle.io/v1', kind: 'HelmChart', metadata: { name: 'nats' }, spec: { chart: 'nats', targetNamespace: 'nats' } };

  test.each([
    ['a misspelt field (the API server would drop it silently)', { targetNamespce: 'nats' },
      /\/spec must NOT have additional properties 'targetNamespce'/],
    ['a wrong type', { createNamespace: 'yes' }, /\/spec\/createNamespace must be boolean/],
    ['a value outside the enum', { failurePolicy: 'rollback' }, /\/spec\/failurePolicy must be equal to one of the allowed values/],
    ['server-side apply as a boolean, not the string the enum holds', { serverSide: true }, /\/spec\/serverSide must be string/],
    ['a set value that is neither number nor string', { set: { replicas: true } }, /\/spec\/set\/replicas must be integer/],
  ])('refuses %s', (_what, spec, message) => {
    expect(() => HELMCHART_CRD.validate(valid)).not.toThrow();
    expect(() => HELMCHART_CRD.validate({ ...valid, spec: { ...valid.spec, ...spec } })).toThrow(message);
  });

  test('accepts structured values and pod security settings, which the schema leaves open', () => {
    const open = { ...valid.spec, values: { any: { shape: [1] } }, podSecurityContext: { fsGroup: 1 } };
    expect(() => HELMCHART_CRD.validate({ ...valid, spec: open })).not.toThrow();
  });
});
