import { unchangedSynth } from './lib/synth/synth-stamp';
import { runCli, type CommandSpec } from './lib/util/cli';
import { displayPath } from './lib/util/display-path';
import { progressLine } from './lib/util/progress-line';

const SYNTH: CommandSpec = {
  usage: 'npm run synth --',
  description: 'Synthesizes dist/ (or CDK8S_OUTDIR) from the configuration, issuing the dev PKI in pki.dir first when\n' +
    'anything is missing or outdated. Writes only files it owns; the Secret holding the server key is git-ignored.\n' +
    'When nothing it is made from has changed since the last synth, it says so and writes nothing.',
  flags: {
    force: { type: 'boolean', help: 'synthesize even when nothing has changed since the last synth' },
  },
};

// The project is where this file lives, wherever the command is run from; resolved here, once.
// The construct library loads only when there is something to synthesize.
void runCli(SYNTH, async (flags) => {
  const unchanged = flags.force ? undefined : unchangedSynth(__dirname, process.env);
  if (unchanged) {
    console.log(`✔ ${displayPath(unchanged.dist)}/ is up to date: nothing it is made from changed since the last synth (--force synthesizes anyway)`);
    return;
  }
  const { loadProject } = require('./lib/config/project') as typeof import('./lib/config/project');
  const { synthesize } = require('./lib/synth/synth') as typeof import('./lib/synth/synth');
  await synthesize(loadProject(__dirname, process.env), {
    log: (line: string) => console.log(line), progress: progressLine({ what: 'certificates issued' }), loadedFrom: () => Object.keys(require.cache),
  });
});
