import { parseAllDocuments } from 'yaml';
import { parseConfig } from '../lib/config/config';
import {
  expectedChartObjects, helmTemplateArgs, isRenderCurrent, missingChartObjects, renderedDocument, renderHeader, renderProvenance, sha256,
} from '../lib/deploy/helm-render';
import { INSTANCE_LABEL, PART_OF } from '../lib/synth/ownership';
import { defaults } from './support/fixtures';

const VALUES = 'namespaceOverride: nats\nnatsBox:\n  enabled: false\n';
const object = (template: string, apiVersion: string, kind: string, name: string): string =>
  `---\n# Source: nats/templates/${template}.yaml\napiVersion: ${apiVersion}\nkind: ${kind}\nmetadata:\n  name: ${name}\n  namespace: nats\n`;
/** The shape of chart 2.14.2's output for release nats, cut down to the objects up relies on. */
const STATEFUL_SET = object('stateful-set', 'apps/v1', 'StatefulSet', 'nats');
const HELM_OUTPUT = [
  object('config-map', 'v1', 'ConfigMap', 'nats-config'),
  object('headless-service', 'v1', 'Service', 'nats-headless'),
  object('service', 'v1', 'Service', 'nats'),
  STATEFUL_SET,
  object('pod-disruption-budget', 'policy/v1', 'PodDisruptionBudget', 'nats'),
].join('');

describe('helm template arguments', () => {
  test('pin chart, version, repo and namespace, and leave the test Pod out', () => {
    // GIVEN the default NATS settings WHEN the command is built THEN it is the documented one
    expect(helmTemplateArgs(defaults().nats, 'dist/helm/nats-values.yaml')).toEqual([
      'template',
      '--repo', 'https://nats-io.github.io/k8s/helm/charts/',
      '--version', '2.14.2',
      '--namespace', 'nats',
      '--skip-tests',
      '-f', 'dist/helm/nats-values.yaml',
      '--', 'nats', 'nats',
    ]);
  });
});

describe('provenance of the rendered chart', () => {
  const provenance = renderProvenance(defaults().nats, 'default', '/somewhere/dist/helm/nats-values.yaml', VALUES);

  test('the header names chart, version, repo, release, namespace and the values hash', () => {
    // GIVEN the default chart WHEN the header is written THEN a reader sees every input
    const header = renderHeader(provenance);
    expect(header).toBe(
      '# NATS Helm chart nats 2.14.2 from https://nats-io.github.io/k8s/helm/charts/, release nats in namespace nats,\n' +
      `# rendered by scripts/up.mjs (helm template) from nats-values.yaml sha256:${sha256(VALUES)},\n` +
      '# every object labelled app.kubernetes.io/part-of=k3s-nats-tls,k3s-nats-tls/instance=default. Do not edit.\n',
    );
    expect(sha256(VALUES)).toMatch(/^[0-9a-f]{64}$/);
    // ... and every line is a YAML comment, so kubectl reads the manifests unchanged
    expect(renderedDocument(provenance, HELM_OUTPUT).split('\n').slice(0, 3).every((line) => line.startsWith('# '))).toBe(true);
  });

  test('every object of the rendering carries the owner label, beside the chart\'s own; selectors and pod templates are untouched', () => {
    // GIVEN helm output with a labelled StatefulSet (selector and pod template), an unlabelled Service and an empty document
    const statefulSet = `${STATEFUL_SET}  labels:\n    app.kubernetes.io/name: nats\nspec:\n  selector:\n    matchLabels:\n      app.kubernetes.io/name: nats\n` +
      '  template:\n    metadata:\n      labels:\n        app.kubernetes.io/name: nats\n';
    const output = `${statefulSet}${object('service', 'v1', 'Service', 'nats')}---\n# Source: nats/templates/pod-monitor.yaml\n`;
    // WHEN it is written as the rendering
    const rendered = renderedDocument(provenance, output);
    // THEN each object has the label in its metadata, and only there
    const documents = parseAllDocuments(rendered).map((document) => document.toJS() as Record<string, any>);
    expect(documents.map((document) => [document.kind, document.metadata.labels])).toEqual([
      ['StatefulSet', { 'app.kubernetes.io/name': 'nats', [PART_OF.key]: PART_OF.value, [INSTANCE_LABEL]: 'default' }],
      ['Service', { [PART_OF.key]: PART_OF.value, [INSTANCE_LABEL]: 'default' }],
    ]);
    expect(documents[0].spec).toEqual({
      selector: { matchLabels: { 'app.kubernetes.io/name': 'nats' } },
      template: { metadata: { labels: { 'app.kubernetes.io/name': 'nats' } } },
    });
    // ... and helm's `# Source:` comments stay for the reader
    expect(rendered).toContain('---\n# Source: nats/templates/service.yaml\napiVersion: v1\n');
  });

  test('a rendering of the same inputs is current', () => {
    // GIVEN a rendering of these values WHEN checked against the same inputs THEN helm can be skipped
    expect(isRenderCurrent(renderedDocument(provenance, HELM_OUTPUT), provenance)).toBe(true);
  });

  test('changed values make the rendering stale', () => {
    // GIVEN a rendering of VALUES WHEN the values file changes by one character THEN it is stale
    const changed = renderProvenance(defaults().nats, 'default', 'dist/helm/nats-values.yaml', VALUES.replace('false', 'true'));
    expect(isRenderCurrent(renderedDocument(provenance, HELM_OUTPUT), changed)).toBe(false);
  });

  test.each([
    ['chart version', { nats: { chart: { version: '2.14.0' } } }],
    ['chart repository', { nats: { chart: { repo: 'https://charts.example.com/' } } }],
    ['release', { nats: { release: 'messaging' } }],
    ['namespace', { nats: { namespace: 'messaging' } }],
  ])('a different %s makes the rendering stale', (_what, raw) => {
    // GIVEN a rendering for the defaults WHEN one chart input changes THEN it is stale
    const other = renderProvenance(parseConfig(raw).nats, 'default', 'dist/helm/nats-values.yaml', VALUES);
    expect(isRenderCurrent(renderedDocument(provenance, HELM_OUTPUT), other)).toBe(false);
  });

  test('another instance makes the rendering stale: its objects need that instance\'s label', () => {
    const other = renderProvenance(defaults().nats, 'staging', '/somewhere/dist/helm/nats-values.yaml', VALUES);
    expect(isRenderCurrent(renderedDocument(provenance, HELM_OUTPUT), other)).toBe(false);
    expect(renderedDocument(other, HELM_OUTPUT)).toContain('    k3s-nats-tls/instance: staging\n');
  });

  test('helm output that is not YAML is refused, not half-labelled', () => {
    expect(() => renderedDocument(provenance, 'Error: chart "nats" version "9.9.9" not found\n  bad: [yaml')).toThrow(/not YAML/);
  });

  test('a missing, header-less or empty rendering is not current', () => {
    // GIVEN no file, a hand-made file, or a header without manifests THEN helm must run
    expect(isRenderCurrent(undefined, provenance)).toBe(false);
    expect(isRenderCurrent(HELM_OUTPUT, provenance)).toBe(false);
    expect(isRenderCurrent(renderHeader(provenance), provenance)).toBe(false);
  });

  test('a rendering with the current header but without the chart\'s Services and ConfigMap is not current', () => {
    // GIVEN a file cut short after the StatefulSet, under a header that matches
    // THEN it is rendered again rather than applied as is
    expect(isRenderCurrent(renderedDocument(provenance, STATEFUL_SET), provenance)).toBe(false);
  });
});

describe('objects the rendered chart must hold', () => {
  const provenance = renderProvenance(defaults().nats, 'default', 'nats-values.yaml', VALUES);

  test('for release nats: StatefulSet nats, Services nats and nats-headless, ConfigMap nats-config', () => {
    expect(expectedChartObjects(provenance)).toEqual(['StatefulSet nats', 'Service nats', 'Service nats-headless', 'ConfigMap nats-config']);
    expect(missingChartObjects(HELM_OUTPUT, provenance)).toEqual([]);
  });

  test('names follow the chart\'s fullname rule for another release', () => {
    const messaging = renderProvenance(parseConfig({ nats: { release: 'messaging' } }).nats, 'default', 'nats-values.yaml', VALUES);
    expect(expectedChartObjects(messaging)).toEqual([
      'StatefulSet messaging-nats', 'Service messaging-nats', 'Service messaging-nats-headless', 'ConfigMap messaging-nats-config',
    ]);
    // ... so the default release's objects do not count for it
    expect(missingChartObjects(HELM_OUTPUT, messaging)).toHaveLength(4);
  });

  test('each missing object is named; output that is not YAML lacks them all', () => {
    expect(missingChartObjects(STATEFUL_SET, provenance)).toEqual(['Service nats', 'Service nats-headless', 'ConfigMap nats-config']);
    expect(missingChartObjects(HELM_OUTPUT.replace('kind: Service\nmetadata:\n  name: nats\n', 'kind: Service\nmetadata:\n  name: other\n'), provenance))
      .toEqual(['Service nats']);
    expect(missingChartObjects('', provenance)).toHaveLength(4);
    expect(missingChartObjects('Error: chart "nats" version "9.9.9" not found\n  bad: [yaml', provenance)).toHaveLength(4);
  });
});
