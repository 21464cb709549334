#!/usr/bin/env node
// npm run certs: creates or refreshes the dev PKI in pki.dir (default keys/): CA, NATS server, one
// client per identity. Reuses what is valid; the CA is never replaced silently.
import { chalk, path } from 'zx';
import { requireLib } from './lib/project.mjs';

const { runCli, scriptArgs } = requireLib('util/cli');
const { loadConfig } = requireLib('config/config');
const { ensurePki } = requireLib('pki/pki');
const { pruneStrayPkiFiles, strayPkiFiles } = requireLib('pki/removal');
const { withProjectLock } = requireLib('util/project-lock');
const { projectFolders } = requireLib('config/layout');
const { synthesizedServerCertificate } = requireLib('synth/dist');
const { TLS_SECRET_KEYS } = requireLib('nats/chart');
const { displayPath } = requireLib('util/display-path');
const { listed } = requireLib('util/listed');
const { progressLine } = requireLib('util/progress-line');

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
  const progress = progressLine({ what: 'certificates issued' });
  const result = await ensurePki(config, { baseDir: root, force: Boolean(flags.force), renew, log, progress });

  const certs = (files) => files.filter((file) => file.endsWith('.crt')).length;
  console.log(chalk.green(`✔ ${certs(result.issued)} certificate(s) issued, ${certs(result.reused)} still valid and kept as they are.`));
  console.log(`  CA: ${displayPath(result.paths.caCert)}   server: ${displayPath(result.paths.serverCert)}   clients: ${listed(config.pki.identities.map((identity) => `${identity.name}.crt`))}`);
  console.log(chalk.dim('  Private keys (*.key) stay on this machine: the folder is git-ignored and readable by you only.'));

  const pruned = flags.prune ? pruneStrayPkiFiles(config, root) : [];
  const stray = flags.prune ? [] : strayPkiFiles(config, root);
  if (flags.prune) console.log(pruned.length ? `✔ pruned ${listed(pruned.map((file) => displayPath(file)))}` : '✔ nothing to prune');
  if (stray.length) console.log(chalk.yellow(`! ${listed(stray.map((file) => displayPath(file)))}: no such identity in the configuration any more — \`npm run certs -- --prune\` deletes them`));

  // What the cluster's Secrets carry (the CA, the server's, echo's and the routes' pairs) needs synth;
  // a client's new pair goes to the client only. The Secret in dist/ may also be older than keys/.
  const { caCert, serverCert, echoCert, routeCert } = result.paths;
  const inCluster = result.issued.filter((file) => [caCert, serverCert, echoCert, routeCert].includes(file));
  const forClients = result.issued.filter((file) => file.endsWith('.crt') && !inCluster.includes(file));
  const inSecret = synthesizedServerCertificate(projectFolders(root, config).dist, TLS_SECRET_KEYS.cert);
  const staleSecret = inSecret !== undefined && inSecret !== result.serverCert;
  if (inCluster.length > 0 || staleSecret) {
    const what = inCluster.length > 0
      ? inCluster.filter((file) => file.endsWith('.crt')).map((file) => displayPath(file)).join(', ')
      : `${displayPath(serverCert)} (dist/ holds an older one)`;
    console.log(`Next: ${chalk.cyan('npm run synth')} to put ${what} into the cluster's Secrets (and redeploy if the cluster runs).`);
  } else if (forClients.length > 0) {
    console.log(`Next: hand ${listed(forClients.map((file) => `${displayPath(file)} and its .key`))} to ${forClients.length === 1 ? 'the client' : 'their clients'}; nothing in the cluster changes.`);
  } else if (pruned.length === 0 && stray.length === 0) {
    console.log('Nothing to do.');
  }
}), scriptArgs(import.meta.filename));
