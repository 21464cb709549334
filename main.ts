import { relative } from 'node:path';
import { App } from 'cdk8s';
import { commandLine } from './lib/cli';
import { loadConfig } from './lib/config';
import { displayPath } from './lib/display-path';
import { DistStaging, KUSTOMIZATION_FILE, kustomizationDocument } from './lib/dist';
import { NATS_VALUES_FILE, outdirSetting, projectFolders } from './lib/layout';
import { checkServerTls, ensurePki } from './lib/pki';
import { withProjectLock } from './lib/project-lock';
import { runMain } from './lib/run-main';
import { defineStack } from './lib/stack';

commandLine({
  usage: 'npm run synth',
  description: 'Synthesizes dist/ (or CDK8S_OUTDIR) from the configuration, issuing the dev PKI in pki.dir first when\n' +
    'anything is missing or outdated. Writes only files it owns; the Secret holding the server key is git-ignored.',
  flags: {},
});

// The project is where this file lives, wherever the command is run from.
const root = __dirname;

runMain(() => withProjectLock(root, async () => {
  const config = loadConfig(root);
  const { dist } = projectFolders(root, config);
  const staging = new DistStaging(root, dist, outdirSetting());
  try {
    const tls = await ensurePki(config, { baseDir: root, log: (line) => console.log(line) });
    checkServerTls(tls);

    const app = new App({ outdir: staging.staging });
    const stack = defineStack(app, config, tls);
    app.synth();

    const written = staging.publish({
      [NATS_VALUES_FILE]: stack.nats.valuesDocument,
      [KUSTOMIZATION_FILE]: kustomizationDocument(staging.committableManifests()),
    });
    console.log(`✔ synthesized into ${displayPath(dist)}/: ${written.map((file) => relative(dist, file)).join(', ')}`);
  } finally {
    staging.discard();
  }
}));
