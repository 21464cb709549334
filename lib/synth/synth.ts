import { relative } from 'node:path';
import { App } from 'cdk8s';
import type { Config } from '../config/config';
import { NATS_VALUES_FILE } from '../config/layout';
import type { Project } from '../config/project';
import { ensurePki } from '../pki/pki';
import { checkServerTls } from '../pki/x509-checks';
import { displayPath } from '../util/display-path';
import type { Progress } from '../util/progress-line';
import { withProjectLock } from '../util/project-lock';
import { DistStaging, KUSTOMIZATION_FILE, kustomizationDocument } from './dist';
import { checkFleetSize } from './object-size';
import { defineStack, plannedStack, stackFacts, type Stack } from './stack';
import { removeSynthStamp, writeSynthStamp } from './synth-stamp';

export interface SynthOptions {
  readonly log?: (line: string) => void;
  /** Shown while the PKI issues certificates: a fleet's take a while. */
  readonly progress?: Progress;
  /**
   * The files the running program was loaded from (read once synth is done). Given, synth leaves a
   * stamp (lib/synth/synth-stamp.ts) by which a later run finds it has nothing to do; without it,
   * it removes any stamp, since it cannot tell what its result was made from.
   */
  readonly loadedFrom?: () => readonly string[];
}

export interface SynthResult {
  readonly config: Config;
  readonly stack: Stack;
  /** The folder written, and every file written into it. */
  readonly dist: string;
  readonly written: string[];
}

/**
 * `npm run synth`: under the project lock, vets the output folder, ensures the PKI, builds the
 * stack from the project's configuration and publishes dist/ atomically. The deploy driver calls
 * it in-process with the project it resolved, so what it applies and waits for comes from the
 * constructs it just synthesized (`stack`).
 */
export function synthesize(project: Project, options: SynthOptions = {}): Promise<SynthResult> {
  const log = options.log ?? (() => undefined);
  const { root, config, dist } = project;
  return withProjectLock(root, async () => {
    // Before a key or a file is written: a fleet too large for the API server fails here, not in up's apply.
    checkFleetSize(plannedStack(config).nats);
    const staging = new DistStaging(root, dist, project.outdir);
    try {
      const tls = await ensurePki(config, { baseDir: root, log, progress: options.progress });
      checkServerTls(tls);
      const app = new App({ outdir: staging.staging });
      const stack = defineStack(app, config, tls);
      app.synth();
      const written = staging.publish({
        [NATS_VALUES_FILE]: stack.nats.valuesDocument,
        [KUSTOMIZATION_FILE]: kustomizationDocument(staging.committableManifests()),
      });
      // With the staging folder gone: the stamp describes the folders as this run leaves them.
      staging.discard();
      if (options.loadedFrom) {
        writeSynthStamp({
          root, configFile: project.configFile, dist, keys: project.keys, sources: options.loadedFrom(), unchangedWithin: tls.unchangedWithin,
          result: { written, stack: stackFacts(stack), pkiFiles: tls.issued.length + tls.reused.length },
        });
      } else {
        removeSynthStamp(dist);
      }
      log(`✔ synthesized into ${displayPath(dist)}/: ${written.map((file) => relative(dist, file)).join(', ')}`);
      return { config, stack, dist, written };
    } finally {
      staging.discard();
    }
  });
}
