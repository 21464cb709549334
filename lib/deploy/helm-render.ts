import { createHash } from 'node:crypto';
import { basename } from 'node:path';
import { isMap, parseAllDocuments } from 'yaml';
import type { NatsConfig } from '../config/config';
import { natsChartObjects } from '../nats/chart';
import { ownerLabels, ownerSelector } from '../synth/ownership';

/**
 * Provenance of dist/helm/nats.yaml, the NATS chart rendered by `helm template`. The rendering is
 * headed by everything it was made from, so the deploy script can tell a current rendering from a
 * stale one by comparing headers — without running helm or reaching the chart repository.
 */
export interface RenderProvenance {
  readonly chart: string;
  readonly version: string;
  readonly repo: string;
  readonly release: string;
  readonly namespace: string;
  /** File name of the values file, for the reader; the hash is what decides. */
  readonly valuesFile: string;
  readonly valuesSha256: string;
  /** The instance whose owner labels every object gets. */
  readonly instance: string;
}

export const sha256 = (text: string): string => createHash('sha256').update(text, 'utf8').digest('hex');

export function renderProvenance(nats: NatsConfig, instance: string, valuesFile: string, valuesText: string): RenderProvenance {
  return {
    instance,
    chart: nats.chart.name,
    version: nats.chart.version,
    repo: nats.chart.repo,
    release: nats.release,
    namespace: nats.namespace,
    valuesFile: basename(valuesFile),
    valuesSha256: sha256(valuesText),
  };
}

/**
 * Arguments of `helm template`; `--skip-tests` keeps the chart's test Pod out of the manifests. The
 * release and the chart come after `--`, so that helm never reads either as a flag.
 */
export function helmTemplateArgs(nats: NatsConfig, valuesPath: string): string[] {
  return [
    'template',
    '--repo', nats.chart.repo,
    '--version', nats.chart.version,
    '--namespace', nats.namespace,
    '--skip-tests',
    '-f', valuesPath,
    '--', nats.release, nats.chart.name,
  ];
}

export function renderHeader(p: RenderProvenance): string {
  return [
    `# NATS Helm chart ${p.chart} ${p.version} from ${p.repo}, release ${p.release} in namespace ${p.namespace},`,
    `# rendered by scripts/up.mjs (helm template) from ${p.valuesFile} sha256:${p.valuesSha256},`,
    `# every object labelled ${ownerSelector(p.instance)}. Do not edit.`,
    '',
  ].join('\n');
}

/**
 * The file written to dist/helm/nats.yaml: the header, then helm's output with our owner labels added
 * to each object's metadata (what `helm --post-renderer` is for), so that up applies and prunes the
 * chart's objects with the synthesized ones. Documents holding no object (a template that rendered
 * to nothing) are left out. Selectors and pod templates are not touched: a StatefulSet's selector
 * cannot change. Output that is not YAML is refused (up checks it with missingChartObjects first).
 */
export function renderedDocument(p: RenderProvenance, helmOutput: string): string {
  const documents = parseAllDocuments(helmOutput);
  if (!Array.isArray(documents) || documents.some((document) => document.errors.length > 0)) {
    throw new Error('helm\'s output is not YAML: not written');
  }
  const objects = documents.filter((document) => isMap(document.contents));
  for (const object of objects) {
    for (const [key, value] of Object.entries(ownerLabels(p.instance))) object.setIn(['metadata', 'labels', key], value);
    // Every object starts with `---`, also one helm printed without it.
    if (object.directives) object.directives.docStart = true;
  }
  return renderHeader(p) + objects.map((object) => object.toString({ lineWidth: 0 })).join('');
}

/**
 * The objects of the chart the deployment relies on, as "Kind name": the StatefulSet the rollout
 * waits for, the client Service and the headless one its pods are named under, and the ConfigMap
 * holding nats.conf (with the TLS and the user mapping).
 */
export function expectedChartObjects(p: RenderProvenance): string[] {
  const objects = natsChartObjects(p.release, p.chart);
  return [
    `StatefulSet ${objects.statefulSet}`, `Service ${objects.service}`, `Service ${objects.headlessService}`, `ConfigMap ${objects.configMap}`,
  ];
}

/** Which expected objects `manifests` (helm's output or the rendered file) lacks; all of them if it is not YAML. */
export function missingChartObjects(manifests: string, p: RenderProvenance): string[] {
  const expected = expectedChartObjects(p);
  const documents = parseAllDocuments(manifests);
  if (!Array.isArray(documents) || documents.some((document) => document.errors.length > 0)) return expected;
  const present = new Set(documents.map((document) => {
    const object = document.toJS() as { kind?: unknown; metadata?: { name?: unknown } } | null;
    return `${String(object?.kind)} ${String(object?.metadata?.name)}`;
  }));
  return expected.filter((object) => !present.has(object));
}

/**
 * True when `rendered` (the current file, if any) was made from exactly these inputs and holds the
 * chart's objects: a file cut short or edited by hand under a current header is rendered again.
 */
export function isRenderCurrent(rendered: string | undefined, p: RenderProvenance): boolean {
  const header = renderHeader(p);
  return rendered !== undefined && rendered.startsWith(header) && missingChartObjects(rendered.slice(header.length), p).length === 0;
}
