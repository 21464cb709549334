import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { writeFileAtomic } from './atomic-file';

/** cdk8s's file suffix for a chart's manifest; synth owns every such file in dist/. */
export const MANIFEST_SUFFIX = '.k8s.yaml';

/** A manifest holding a Secret is readable by its owner only. */
const fileMode = (text: string) => (/^kind: Secret$/m.test(text) ? 0o600 : 0o644);

/**
 * A private folder inside dist/ that the cdk8s App synthesizes into. `publish()` then moves every
 * file into dist/ atomically and removes manifests no chart produces any more, so an interrupted
 * or failed synth leaves dist/ as it was. Files synth does not own (the NATS chart rendered by the
 * deploy script) are kept: that is why we do not use `cdk8s synth`, which empties the folder first.
 */
export class DistStaging {
  readonly path: string;

  constructor(readonly outdir: string) {
    mkdirSync(outdir, { recursive: true });
    this.path = mkdtempSync(join(outdir, '.synth-'));
  }

  /** Copies the synthesized manifests and `extraFiles` (relative path → text) into place; returns the paths written. */
  publish(extraFiles: Readonly<Record<string, string>> = {}): string[] {
    const files = new Map<string, string>();
    for (const name of readdirSync(this.path)) files.set(name, readFileSync(join(this.path, name), 'utf8'));
    for (const [name, text] of Object.entries(extraFiles)) files.set(name, text);

    const written: string[] = [];
    for (const [name, text] of files) {
      const path = join(this.outdir, name);
      mkdirSync(dirname(path), { recursive: true });
      writeFileAtomic(path, text, fileMode(text));
      written.push(path);
    }
    for (const name of readdirSync(this.outdir)) {
      if (name.endsWith(MANIFEST_SUFFIX) && !files.has(name)) rmSync(join(this.outdir, name));
    }
    return written;
  }

  discard(): void {
    rmSync(this.path, { recursive: true, force: true });
  }
}
