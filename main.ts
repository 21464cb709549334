import { loadProject } from './lib/config/project';
import { synthesize } from './lib/synth/synth';
import { runCli } from './lib/util/cli';
import { progressLine } from './lib/util/progress-line';

const SYNTH = {
  usage: 'npm run synth',
  description: 'Synthesizes dist/ (or CDK8S_OUTDIR) from the configuration, issuing the dev PKI in pki.dir first when\n' +
    'anything is missing or outdated. Writes only files it owns; the Secret holding the server key is git-ignored.',
  flags: {},
};

// The project is where this file lives, wherever the command is run from; resolved here, once.
void runCli(SYNTH, async () => {
  await synthesize(loadProject(__dirname, process.env), { log: (line) => console.log(line), progress: progressLine({ what: 'certificates issued' }) });
});
