import { ensurePki } from '../../pki/pki';
import { withProjectLock } from '../../util/project-lock';
import type { Deployment, Synthesized } from './deployment';

/** The Certificates step's line: how many PKI files this run issued and how many it kept. */
const pkiLine = (issued: number, reused: number, dir: string): string => `${issued} file(s) issued, ${reused} reused in ${dir}/`;

/** The Certificates step: issues or reuses the PKI, as `npm run certs` does; nothing to check when synth found nothing changed. */
export async function certificates({ runbook: { root, dryRun, would }, config, unchanged }: Deployment): Promise<string | undefined> {
  if (dryRun) {
    would(`issue or reuse the CA, server and client certificates in ${config.pki.dir}/ (as npm run certs)`);
    return undefined;
  }
  if (unchanged) return `${pkiLine(0, unchanged.pkiFiles, config.pki.dir)} (unchanged since the last synth)`;
  const pki = await withProjectLock(root, () => ensurePki(config, { baseDir: root }));
  return pkiLine(pki.issued.length, pki.reused.length, config.pki.dir);
}

/**
 * The Manifests step: in this process, as `npm run synth` does it — the same lock, PKI, constructs
 * and stamp. When the stamp says nothing changed, the stack's facts come from it and the construct
 * library is never loaded.
 */
export async function manifests(deployment: Deployment): Promise<{ synthesized: Synthesized; detail?: string }> {
  const { runbook: { dryRun, would, rel }, project, config, dist, unchanged } = deployment;
  if (dryRun) {
    would(`synthesize ${rel(dist)}/ (as npm run synth)`);
    const { plannedStack } = require('../../synth/stack') as typeof import('../../synth/stack');
    return { synthesized: { ...deployment, stack: plannedStack(config) } };
  }
  if (unchanged) {
    return { synthesized: { ...deployment, stack: unchanged.stack }, detail: `${rel(dist)}/ is up to date (${unchanged.written.length} file(s), nothing changed since the last synth)` };
  }
  const { synthesize } = require('../../synth/synth') as typeof import('../../synth/synth');
  const { written, stack } = await synthesize(project, { loadedFrom: () => Object.keys(require.cache) });
  return { synthesized: { ...deployment, stack }, detail: `synthesized ${written.length} file(s) into ${rel(dist)}/` };
}
