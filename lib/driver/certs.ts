import { chalk } from 'zx';
import { loadProject } from '../config/project';
import { TLS_SECRET_KEYS } from '../nats/chart';
import { ensurePki } from '../pki/pki';
import { pruneStrayPkiFiles, strayPkiFiles } from '../pki/removal';
import { synthesizedServerCertificate } from '../synth/dist';
import { runCli, scriptArgs, type CommandSpec } from '../util/cli';
import { displayPath } from '../util/display-path';
import { listed } from '../util/listed';
import { progressLine } from '../util/progress-line';
import { withProjectLock } from '../util/project-lock';
import { PROJECT_ROOT } from './runbook';

const CERTS_COMMAND: CommandSpec = {
  usage: 'npm run certs --',
  description: 'Creates or refreshes the dev PKI in pki.dir (default keys/): reuses what is valid, issues what is\n' +
    'missing, expiring or no longer matching the configuration. The CA is never replaced silently.',
  flags: {
    renew: { type: 'string', value: 'NAME', multiple: true, help: 're-issue this certificate (an identity, or server) from the same CA; the others stay byte for byte' },
    prune: { type: 'boolean', help: 'delete the files of identities no longer in the configuration' },
    force: { type: 'boolean', help: 'replace everything, the CA included (every client then needs its new files)' },
  },
};

/**
 * `npm run certs`: creates or refreshes the dev PKI in pki.dir (default keys/): CA, NATS server, one
 * client per identity. Reuses what is valid; the CA is never replaced silently.
 */
export const certs = (scriptPath: string): Promise<void> => runCli(CERTS_COMMAND, (flags) => withProjectLock(PROJECT_ROOT, async () => {
  const root = PROJECT_ROOT;
  // Both folders vetted before a key is touched: one that overlaps the other stops here.
  const project = loadProject(root, process.env);
  const { config } = project;
  const log = (line: string) => console.log(`  ${line}`);
  console.log(chalk.bold(flags.force ? `Replacing the dev PKI in ${config.pki.dir}/ (CA included)` : `Checking the dev PKI in ${config.pki.dir}/`));
  const renew = (flags.renew as string[] | undefined) ?? [];
  const progress = progressLine({ what: 'certificates issued' });
  const result = await ensurePki(config, { baseDir: root, force: Boolean(flags.force), renew, log, progress });

  const certificates = (files: readonly string[]) => files.filter((file) => file.endsWith('.crt')).length;
  console.log(chalk.green(`✔ ${certificates(result.issued)} certificate(s) issued, ${certificates(result.reused)} still valid and kept as they are.`));
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
  const inSecret = synthesizedServerCertificate(project.dist, TLS_SECRET_KEYS.cert);
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
}), scriptArgs(scriptPath));
