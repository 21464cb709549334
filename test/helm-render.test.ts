import { parseConfig } from '../lib/config';
import { helmTemplateArgs, isRenderCurrent, renderedDocument, renderHeader, renderProvenance, sha256 } from '../lib/helm-render';
import { defaults } from './support/fixtures';

const VALUES = 'namespaceOverride: nats\nnatsBox:\n  enabled: false\n';
const HELM_OUTPUT = '---\n# Source: nats/templates/stateful-set.yaml\napiVersion: apps/v1\nkind: StatefulSet\n';

describe('helm template arguments', () => {
  test('pin chart, version, repo and namespace, and leave the test Pod out', () => {
    // GIVEN the default NATS settings WHEN the command is built THEN it is the documented one
    expect(helmTemplateArgs(defaults().nats, 'dist/helm/nats-values.yaml')).toEqual([
      'template', 'nats', 'nats',
      '--repo', 'https://nats-io.github.io/k8s/helm/charts/',
      '--version', '2.14.2',
      '--namespace', 'nats',
      '--skip-tests',
      '-f', 'dist/helm/nats-values.yaml',
    ]);
  });
});

describe('provenance of the rendered chart', () => {
  const provenance = renderProvenance(defaults().nats, '/somewhere/dist/helm/nats-values.yaml', VALUES);

  test('the header names chart, version, repo, release, namespace and the values hash', () => {
    // GIVEN the default chart WHEN the header is written THEN a reader sees every input
    const header = renderHeader(provenance);
    expect(header).toBe(
      '# NATS Helm chart nats 2.14.2 from https://nats-io.github.io/k8s/helm/charts/, release nats in namespace nats,\n' +
      `# rendered by scripts/up.mjs (helm template) from nats-values.yaml sha256:${sha256(VALUES)}. Do not edit.\n`,
    );
    expect(sha256(VALUES)).toMatch(/^[0-9a-f]{64}$/);
    // ... and every line is a YAML comment, so kubectl reads the manifests unchanged
    expect(renderedDocument(provenance, HELM_OUTPUT).split('\n').slice(0, 2).every((line) => line.startsWith('# '))).toBe(true);
  });

  test('a rendering of the same inputs is current', () => {
    // GIVEN a rendering of these values WHEN checked against the same inputs THEN helm can be skipped
    expect(isRenderCurrent(renderedDocument(provenance, HELM_OUTPUT), provenance)).toBe(true);
  });

  test('changed values make the rendering stale', () => {
    // GIVEN a rendering of VALUES WHEN the values file changes by one character THEN it is stale
    const changed = renderProvenance(defaults().nats, 'dist/helm/nats-values.yaml', VALUES.replace('false', 'true'));
    expect(isRenderCurrent(renderedDocument(provenance, HELM_OUTPUT), changed)).toBe(false);
  });

  test.each([
    ['chart version', { nats: { chart: { version: '2.14.1' } } }],
    ['chart repository', { nats: { chart: { repo: 'https://charts.example.com/' } } }],
    ['release', { nats: { release: 'messaging' } }],
    ['namespace', { nats: { namespace: 'messaging' } }],
  ])('a different %s makes the rendering stale', (_what, raw) => {
    // GIVEN a rendering for the defaults WHEN one chart input changes THEN it is stale
    const other = renderProvenance(parseConfig(raw).nats, 'dist/helm/nats-values.yaml', VALUES);
    expect(isRenderCurrent(renderedDocument(provenance, HELM_OUTPUT), other)).toBe(false);
  });

  test('a missing, header-less or empty rendering is not current', () => {
    // GIVEN no file, a hand-made file, or a header without manifests THEN helm must run
    expect(isRenderCurrent(undefined, provenance)).toBe(false);
    expect(isRenderCurrent(HELM_OUTPUT, provenance)).toBe(false);
    expect(isRenderCurrent(renderHeader(provenance), provenance)).toBe(false);
  });
});
