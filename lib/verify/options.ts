import { resolve } from 'node:path';
import { echoUrl, loadConfig, natsFullname, natsUrl, type Config, type Identity } from '../config/config';
import { pkiFilesIn, type PkiPaths } from '../pki/paths';
import type { CommandSpec } from '../util/cli';
import { UsageError } from '../util/errors';
import { listNames } from './names';

/** `npm run verify`'s command line: its flags, and the options they and the configuration make. */

export interface VerifyOptions {
  readonly echoUrl: string;
  /** http-echo over HTTPS through Traefik's websecure entry point, trusted only through keys/ca.crt. */
  readonly httpsUrl: string;
  /** The Secret Traefik serves echo's certificate from (echo.tls.secretName), for the fix when it serves another. */
  readonly echoTlsSecret: string;
  readonly echoText: string;
  readonly natsUrl: string;
  /** ca.crt and <identity>.crt/.key, in --keys or pki.dir. */
  readonly keys: PkiPaths;
  /** The identities verify connects as: every one of pki.identities, or those --identity names, in the configuration's order. */
  readonly identities: readonly Identity[];
  /** nats.replicas and nats.jetstream.enabled: with either, a throwaway stream proves the cluster from the client side. */
  readonly replicas: number;
  /** The servers' names, as the chart names them after the StatefulSet's pods (<fullname>-<i>): who must answer in a cluster. */
  readonly natsServers: readonly string[];
  /** nats.namespace, for the commands that look at a missing server. */
  readonly natsNamespace: string;
  readonly jetstream: boolean;
  /** A certificate in the keys folder this close to expiry gets a warning (pki.renewWithinDays). */
  readonly renewWithinDays: number;
  /** Bound on the whole run: checks retry while nothing answers, and report it once this has passed. */
  readonly timeoutMs: number;
}

/** Traefik may answer 404 for a while after it is ready, so the default leaves it time to load its routes. */
export const DEFAULT_TIMEOUT_SECONDS = 60;

/** `npm run verify`'s flags; lib/util/cli.ts parses them (unknown flags, --help) like every command's. */
export const VERIFY_COMMAND: CommandSpec = {
  usage: 'npm run verify --',
  description: 'Proves the running deployment: http-echo through Traefik (HTTP, and HTTPS from our CA), and NATS over mutual\n' +
    'TLS admitting exactly the authorized identities with their permissions and presenting keys/server.crt; with\n' +
    'nats.replicas > 1, every server answering by name; with JetStream, a throwaway stream on nats.replicas servers.\n' +
    'Exit 0: every check matched; 1: a check failed (a degraded cluster too, or the configuration or keys are\n' +
    'unusable); 2: wrong flags.',
  flags: {
    'echo-url': { type: 'string', value: 'URL', help: 'http-echo through Traefik (default from cluster.ports.http.host)' },
    'https-url': { type: 'string', value: 'URL', help: 'http-echo over HTTPS, trusted only via ca.crt (default from cluster.ports.https.host)' },
    'nats-url': { type: 'string', value: 'URL', help: 'NATS through the NodePort mapping, tls://host:port (default from cluster.ports.nats.host)' },
    keys: { type: 'string', value: 'DIR', help: 'holds ca.crt and <identity>.crt/.key (default pki.dir); only read' },
    timeout: { type: 'string', value: 'SECONDS', help: `give up after this long while nothing answers (default ${DEFAULT_TIMEOUT_SECONDS})` },
    identity: {
      type: 'string', value: 'NAME', multiple: true,
      help: 'connect only as this identity of pki.identities (repeatable); --keys then needs only their files',
    },
  },
};

/** A flag's one value; a value of the wrong shape (a bare flag, a repeated one) is a usage mistake. */
function stringFlag(flags: Readonly<Record<string, unknown>>, flag: string): string | undefined {
  const value = flags[flag];
  if (value === undefined) return undefined;
  if (typeof value !== 'string' && typeof value !== 'number') throw new UsageError(`--${flag} needs exactly one value`);
  if (String(value) === '') throw new UsageError(`--${flag} needs exactly one value`);
  return String(value);
}

function checkedUrl(flag: string, text: string, protocols: readonly string[]): string {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new UsageError(`--${flag} '${text}' is not a URL: write it as ${protocols[0]}//host:port`);
  }
  if (!protocols.includes(url.protocol) || url.hostname === '') {
    throw new UsageError(`--${flag} '${text}' must be a ${protocols.join(' or ')}//host:port URL`);
  }
  return text;
}

/** The identities --identity names, in the configuration's order; all of them without the flag. */
function selectedIdentities(args: Readonly<Record<string, unknown>>, identities: readonly Identity[]): readonly Identity[] {
  const value = args.identity;
  if (value === undefined) return identities;
  const names: unknown[] = Array.isArray(value) ? value : [value];
  if (!names.every((name): name is string => typeof name === 'string' && name !== '')) throw new UsageError('--identity needs a name');
  const wanted = new Set(names);
  const known = new Set(identities.map(({ name }) => name));
  const unknown = [...wanted].filter((name) => !known.has(name));
  if (unknown.length > 0) {
    throw new UsageError(`--identity ${listNames(unknown.map((name) => `'${name}'`))}: not in pki.identities ` +
      `(known: ${listNames([...known])}): name an identity of the configuration, or add it to pki.identities`);
  }
  return identities.filter(({ name }) => wanted.has(name));
}

/** Turns the command line into options over the configuration's defaults; throws UsageError naming the bad flag. */
export function verifyOptions(args: Readonly<Record<string, unknown>>, config: Config, cwd = process.cwd()): VerifyOptions {
  const timeoutText = stringFlag(args, 'timeout');
  const timeoutSeconds = timeoutText === undefined ? DEFAULT_TIMEOUT_SECONDS : Number(timeoutText);
  if (!Number.isFinite(timeoutSeconds) || timeoutSeconds <= 0) {
    throw new UsageError(`--timeout '${timeoutText}' must be a positive number of seconds`);
  }

  return {
    echoUrl: checkedUrl('echo-url', stringFlag(args, 'echo-url') ?? echoUrl(config.cluster), ['http:', 'https:']),
    httpsUrl: checkedUrl('https-url', stringFlag(args, 'https-url') ?? `https://localhost:${config.cluster.ports.https.host}`, ['https:']),
    echoTlsSecret: config.echo.tls.secretName,
    echoText: config.echo.text,
    natsUrl: checkedUrl('nats-url', stringFlag(args, 'nats-url') ?? natsUrl(config.cluster), ['tls:', 'nats:']),
    // Only read, never written: --keys may name any folder, e.g. a copy of another machine's keys.
    keys: pkiFilesIn(resolve(cwd, stringFlag(args, 'keys') ?? config.pki.dir)),
    identities: selectedIdentities(args, config.pki.identities),
    replicas: config.nats.replicas,
    natsServers: Array.from({ length: config.nats.replicas }, (_, i) => `${natsFullname(config.nats)}-${i}`),
    natsNamespace: config.nats.namespace,
    jetstream: config.nats.jetstream.enabled,
    renewWithinDays: config.pki.renewWithinDays,
    timeoutMs: Math.round(timeoutSeconds * 1000),
  };
}

/** Options for the command line in `cwd`: the project's configuration (as `env` names it) with the flags over it. */
export function loadVerifyOptions(args: Readonly<Record<string, unknown>>, cwd: string, env: NodeJS.ProcessEnv): VerifyOptions {
  return verifyOptions(args, loadConfig(cwd, env), cwd);
}
