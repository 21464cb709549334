import { ensurePki } from '../../pki/pki';
import { plannedStack } from '../../synth/stack';
import { synthesize } from '../../synth/synth';
import { withProjectLock } from '../../util/project-lock';
import type { Deployment, Synthesized } from './deployment';

/** The Certificates step: issues or reuses the PKI, as `npm run certs` does. */
export async function certificates({ runbook: { root, dryRun, would }, config }: Deployment): Promise<string | undefined> {
  if (dryRun) {
    would(`issue or reuse the CA, server and client certificates in ${config.pki.dir}/ (as npm run certs)`);
    return undefined;
  }
  const pki = await withProjectLock(root, () => ensurePki(config, { baseDir: root }));
  return `${pki.issued.length} file(s) issued, ${pki.reused.length} reused in ${config.pki.dir}/`;
}

/** The Manifests step: in this process, as `npm run synth` does it: the same lock, PKI and constructs. */
export async function manifests(deployment: Deployment): Promise<{ synthesized: Synthesized; detail?: string }> {
  const { runbook: { dryRun, would, rel }, project, config, dist } = deployment;
  if (dryRun) {
    would(`synthesize ${rel(dist)}/ (as npm run synth)`);
    return { synthesized: { ...deployment, stack: plannedStack(config) } };
  }
  const { written, stack } = await synthesize(project);
  return { synthesized: { ...deployment, stack }, detail: `synthesized ${written.length} file(s) into ${rel(dist)}/` };
}
