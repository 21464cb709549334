import { createHash } from 'node:crypto';
import { basename } from 'node:path';
import type { NatsConfig } from './config';

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
}

export const sha256 = (text: string): string => createHash('sha256').update(text, 'utf8').digest('hex');

export function renderProvenance(nats: NatsConfig, valuesFile: string, valuesText: string): RenderProvenance {
  return {
    chart: nats.chart.name,
    version: nats.chart.version,
    repo: nats.chart.repo,
    release: nats.release,
    namespace: nats.namespace,
    valuesFile: basename(valuesFile),
    valuesSha256: sha256(valuesText),
  };
}

/** Arguments of `helm template`; `--skip-tests` keeps the chart's test Pod out of the manifests. */
export function helmTemplateArgs(nats: NatsConfig, valuesPath: string): string[] {
  return [
    'template', nats.release, nats.chart.name,
    '--repo', nats.chart.repo,
    '--version', nats.chart.version,
    '--namespace', nats.namespace,
    '--skip-tests',
    '-f', valuesPath,
  ];
}

export function renderHeader(p: RenderProvenance): string {
  return [
    `# NATS Helm chart ${p.chart} ${p.version} from ${p.repo}, release ${p.release} in namespace ${p.namespace},`,
    `# rendered by scripts/up.mjs (helm template) from ${p.valuesFile} sha256:${p.valuesSha256}. Do not edit.`,
    '',
  ].join('\n');
}

/** The file written to dist/helm/nats.yaml: the header, then helm's output unchanged. */
export const renderedDocument = (p: RenderProvenance, helmOutput: string): string => `${renderHeader(p)}${helmOutput}`;

/** True when `rendered` (the current file, if any) was made from exactly these inputs. */
export function isRenderCurrent(rendered: string | undefined, p: RenderProvenance): boolean {
  const header = renderHeader(p);
  return rendered !== undefined && rendered.startsWith(header) && rendered.length > header.length;
}
