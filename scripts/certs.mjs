#!/usr/bin/env node
// npm run certs: creates or refreshes the dev PKI in pki.dir (default keys/): CA, NATS server, one
// client per identity. Reuses what is valid; the CA is never replaced silently.
import { chalk, path } from 'zx';
import { requireLib } from './lib/project.mjs';

const { runCli, scriptArgs } = requireLib('util/cli');
const { loadConfig } = requireLib('config/config');
const { ensurePki, pruneStrayPkiFiles, strayPkiFiles } = requireLib('pki/pki');
const { withProjectLock } = requireLib('util/project-lock');
const { projectFolders } = requireLib('config/layout');
const { synthesizedServerCertificate } = requireLib('synth/dist');
const { TLS_SECRET_KEYS } = requireLib('nats/chart');
const { displayPath } = requireLib('util/display-path');

/** @type {import('../lib/util/cli.ts').CommandSpec} */
const COMMAND = {
  usage: 'npm run certs --',
  description: 'Creates or refreshes the dev PKI in pki.dir (default keys/): reuses what is valid, issues what is\n' +
    'missing, expiring or no longer matching the configuration. The CA is never replaced silently.',
  flags: {
    renew: { type: 'string', value: 'NAME', multiple: true, help: 're-issue this certificate (an identity, or server) from the same CA; the others stay byte for byte' },
    prune: { type: 'boolean', help: 'delete the files of identities no longer in the configuration' },
    force: { type: 'boolean', help: 'replace everything, the CA included (every client then needs its new files)' },
  },
};

const root = path.resolve(import.meta.dirname, '..');

await runCli(COMMAND, (flags) => withProjectLock(root, async () => {
  const config = loadConfig(root);
  const log = (line) => console.log(`  ${line}`);
  console.log(chalk.bold(flags.force ? `Replacing the dev PKI in ${config.pki.dir}/ (CA included)` : `Checking the dev PKI in ${config.pki.dir}/`));
  const renew = /** @type {string[] | undefined} */ (flags.renew) ?? [];
  const result = await ensurePki(config, { baseDir: root, force: Boolean(flags.force), renew, log });

  const certs = (files) => files.filter((file) => file.endsWith('.crt')).length;
  console.log(chalk.green(`✔ ${certs(result.issued)} certificate(s) issued, ${certs(result.reused)} still valid and kept as they are.`));
  console.log(`  CA: ${displayPath(result.paths.caCert)}   server: ${displayPath(result.paths.serverCert)}   clients: ${config.pki.identities.map((identity) => `${identity.name}.crt`).join(', ')}`);
  console.log(chalk.dim('  Private keys (*.key) stay on this machine: the folder is git-ignored and readable by you only.'));

  if (flags.prune) {
    const pruned = pruneStrayPkiFiles(config, root);
    console.log(pruned.length ? `✔ pruned ${pruned.map((file) => displayPath(file)).join(', ')}` : '✔ nothing to prune');
  } else {
    const stray = strayPkiFiles(config, root);
    if (stray.length) console.log(chalk.yellow(`! ${stray.map((file) => displayPath(file)).join(', ')}: no such identity in the configuration any more — \`npm run certs -- --prune\` deletes them`));
  }

  // The Secret in dist/ may come from an earlier generation even when keys/ needed nothing now.
  const inSecret = synthesizedServerCertificate(projectFolders(root, config).dist, TLS_SECRET_KEYS.cert);
  console.log(result.issued.length > 0 || (inSecret !== undefined && inSecret !== result.serverCert)
    ? `Next: ${chalk.cyan('npm run synth')} to put the server certificate into the NATS Secret (and redeploy if the cluster runs).`
    : 'Nothing to do.');
}), scriptArgs(import.meta.filename));
