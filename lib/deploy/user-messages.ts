import { natsUrl, type Config } from '../config/config';
import { pkiPaths } from '../pki/paths';
import { displayPath } from '../util/display-path';

/** What up tells the user: the way out of a known kubectl failure, and the commands to try the deployment with. */

/**
 * The API server's answer when an apply changes a StatefulSet field that cannot change, such as the
 * volume claims JetStream adds or resizes: the way out, or undefined for any other failure. Deleting
 * only the StatefulSet (`--cascade=orphan`) keeps its pods running and its volumes; the next up
 * creates it anew, and it adopts the pods.
 */
export function immutableStatefulSetHint(output: string, nats: { readonly namespace: string; readonly rolloutResource: string }): string | undefined {
  if (!/The StatefulSet "[^"]+" is invalid: spec: Forbidden: updates to statefulset spec for fields other than/.test(output)) return undefined;
  return `the StatefulSet's volume claims (nats.jetstream) cannot change in place: delete the StatefulSet alone, keeping its pods and volumes, ` +
    `then run up again: kubectl -n ${nats.namespace} delete ${nats.rolloutResource} --cascade=orphan`;
}

/** kubectl diff runs an external `diff -u -N` (up clears KUBECTL_EXTERNAL_DIFF): the way out when it cannot. */
export function kubectlDiffToolHint(output: string): string | undefined {
  if (!/failed to run "[^"]*": executable file not found/.test(output)) return undefined;
  return 'kubectl diff runs the `diff` program, which is not on PATH: install it (Debian: `apt-get install diffutils`)';
}

/** What the server (or the CLI itself) does with a client command: the seed recipe's three outcomes. */
export type ClientOutcome = 'admitted' | 'not-authorized' | 'server-untrusted';

export interface ClientCommand {
  readonly identity: string;
  readonly outcome: ClientOutcome;
  /** The command line, as the summary and the README print it. */
  readonly command: string;
  /** What happens, for the summary's comment: `client1: works`, `client2: refused (Authorization Violation)`. */
  readonly note: string;
}

/**
 * `nats` CLI commands proving the mapping, in the seed recipe's order: each identity publishes with
 * its own certificate and our CA, the authorized ones get in and the others are refused; and the
 * first authorized identity once more without `--tlsca`, where the CLI checks the server against the
 * system CAs and refuses it. Paths are relative to `root`, the folder the user runs them from.
 */
export function natsClientCommands(config: Config, root: string): ClientCommand[] {
  const paths = pkiPaths(config, root);
  const file = (path: string) => displayPath(path, root);
  const line = (name: string, withCa: boolean) => [
    'nats', '-s', natsUrl(config.cluster),
    '--tlscert', file(paths.identityCert(name)),
    '--tlskey', file(paths.identityKey(name)),
    ...(withCa ? ['--tlsca', file(paths.caCert)] : []),
    'pub', 'say', 'hi',
  ].join(' ');
  const firstAuthorized = config.pki.identities.find((identity) => identity.authorized);
  return config.pki.identities.flatMap(({ name, authorized }): ClientCommand[] => [
    authorized
      ? { identity: name, outcome: 'admitted', command: line(name, true), note: `${name}: works` }
      : { identity: name, outcome: 'not-authorized', command: line(name, true), note: `${name}: refused (Authorization Violation)` },
    ...(name === firstAuthorized?.name ? [{
      identity: name, outcome: 'server-untrusted' as const, command: line(name, false),
      note: `${name} without --tlsca: refused (x509: certificate signed by unknown authority)`,
    }] : []),
  ]);
}

/**
 * curl of http-echo over HTTPS, trusting only our CA. By name: Traefik picks the certificate by SNI,
 * which a client connecting to an IP address does not send (docs/gitops.md).
 */
export function echoHttpsCommand(config: Config, root: string): string {
  return `curl --cacert ${displayPath(pkiPaths(config, root).caCert, root)} https://localhost:${config.cluster.ports.https.host}`;
}
