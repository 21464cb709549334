#!/usr/bin/env node
// Creates or refreshes the dev PKI in pki.dir (default keys/): CA, NATS server, one client per identity.
//   npm run certs                 reuse what is valid, (re-)issue what is missing, expiring or outdated
//   npm run certs -- --force      replace everything, the CA included (every client needs its new files)
import { argv, chalk, path } from 'zx';
import { requireLib } from './lib/project.mjs';
import { checkFlags } from './lib/runbook.mjs';

const USAGE = `Usage: npm run certs [-- --force]

Creates or refreshes the dev PKI in pki.dir (default keys/): reuses what is valid, issues what is
missing, expiring or no longer matching the configuration. The CA is never replaced silently.

  --force   replace everything, the CA included (every client then needs its new files)
  --help    show this help`;

checkFlags(argv, { booleans: ['force', 'help'], usage: USAGE });
if (argv.help) {
  console.log(USAGE);
  process.exit(0);
}

const { loadConfig } = requireLib('config');
const { ensurePki } = requireLib('pki');
const { withProjectLock } = requireLib('project-lock');
const { projectFolders } = requireLib('layout');
const { synthesizedServerCertificate } = requireLib('dist');
const { TLS_SECRET_KEYS } = requireLib('nats-chart');
const { runMain } = requireLib('run-main');

const root = path.resolve(import.meta.dirname, '..');

runMain(() => withProjectLock(root, async () => {
  const config = loadConfig(root);
  console.log(chalk.bold(argv.force ? `Replacing the dev PKI in ${config.pki.dir}/ (CA included)` : `Checking the dev PKI in ${config.pki.dir}/`));
  const result = await ensurePki(config, { baseDir: root, force: Boolean(argv.force), log: (line) => console.log(`  ${line}`) });

  const certs = (files) => files.filter((file) => file.endsWith('.crt')).length;
  console.log(chalk.green(`✔ ${certs(result.issued)} certificate(s) issued, ${certs(result.reused)} still valid and kept as they are.`));
  console.log(`  CA: ${result.paths.caCert}   server: ${result.paths.serverCert}   clients: ${config.pki.identities.map((identity) => `${identity.name}.crt`).join(', ')}`);
  console.log(chalk.dim('  Private keys (*.key) stay on this machine: the folder is git-ignored and readable by you only.'));
  // The Secret in dist/ may come from an earlier generation even when keys/ needed nothing now.
  const inSecret = synthesizedServerCertificate(projectFolders(root, config).dist, TLS_SECRET_KEYS.cert);
  console.log(result.issued.length > 0 || (inSecret !== undefined && inSecret !== result.serverCert)
    ? `Next: ${chalk.cyan('npm run synth')} to put the server certificate into the NATS Secret (and redeploy if the cluster runs).`
    : 'Nothing to do.');
}));
