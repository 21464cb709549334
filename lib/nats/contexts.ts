import { lstatSync, readFileSync } from 'node:fs';
import { userInfo } from 'node:os';
import { isAbsolute, join } from 'node:path';
import { natsUrl, type Config, type Identity } from '../config/config';
import type { PkiPaths } from '../pki/paths';
import { writeFileAtomic } from '../util/atomic-file';
import { UserError } from '../util/errors';
import { makeFolders } from '../util/plain-paths';
import { concreteSubject, expectedAccess } from './subjects';

/**
 * natscli contexts for the authorized identities, so `nats --context dev-client1 pub demo hi` works
 * without repeating --tlscert/--tlskey/--tlsca. The format and location are natscli's (its
 * jsm.go `natscontext` package): one JSON file per context in `$XDG_CONFIG_HOME/nats/context/`,
 * else `<home>/.config/nats/context/`. The selected context lives in `nats/context.txt`, which is
 * the user's choice: this module never touches it.
 */

/**
 * Starts the description of every context this project writes, followed by the checkout that wrote
 * it (its absolute path, as a JSON string, then ':'): a file is ours to replace only when it names
 * this checkout, so a second clone of the project never takes over the first one's contexts.
 */
export const CONTEXT_MARKER = 'k3s-nats-tls';

/** How an earlier version marked its contexts, naming no checkout. */
const UNNAMED_CHECKOUT_MARKER = `${CONTEXT_MARKER}:`;

const markerOf = (checkout: string): string => `${CONTEXT_MARKER} ${JSON.stringify(checkout)}:`;

const FILE_MODE = 0o600;
const DIR_MODE = 0o700;

/** The subset of natscli's context fields this project sets; natscli reads absent fields as empty. */
export interface NatsContextSettings {
  readonly description: string;
  readonly url: string;
  readonly cert: string;
  readonly key: string;
  readonly ca: string;
}

export interface NatsContext {
  /** `<cluster.name>-<identity>`: what `nats --context` takes. */
  readonly name: string;
  readonly identity: Identity;
  /** The absolute path of the project checkout whose keys the context uses. */
  readonly checkout: string;
  readonly settings: NatsContextSettings;
}

export type ContextStatus = 'written' | 'updated' | 'unchanged' | 'skipped';

export interface ContextOutcome {
  readonly name: string;
  readonly file: string;
  /** `written`: new file; `updated`: our earlier version replaced; `skipped`: someone else's file, left alone. */
  readonly status: ContextStatus;
  /** For `skipped`: one line naming the file and the fix. */
  readonly warning?: string;
}

/**
 * Where natscli looks for contexts: `$XDG_CONFIG_HOME/nats/context` when set, else under the
 * account's home directory (natscli asks the user database, as Go's `user.Current` does, not $HOME).
 */
export function natsContextDir(env: NodeJS.ProcessEnv = process.env, home: string | undefined = accountHome(env)): string {
  const xdg = env.XDG_CONFIG_HOME;
  if (xdg) {
    // natscli takes the value as it is: a relative one would name a different folder for every directory `nats` runs in.
    if (!isAbsolute(xdg)) {
      throw new UserError(`XDG_CONFIG_HOME is relative (${xdg}): nats would look for contexts relative to wherever it runs — set an absolute path`);
    }
    return join(xdg, 'nats', 'context');
  }
  if (!home) throw new UserError('cannot tell where nats keeps its contexts: set XDG_CONFIG_HOME (or HOME) to an absolute path');
  return join(home, '.config', 'nats', 'context');
}

function accountHome(env: NodeJS.ProcessEnv): string | undefined {
  try {
    return userInfo().homedir || env.HOME;
  } catch {
    // No entry in the user database (e.g. an arbitrary UID in a container): Go falls back to $HOME too.
    return env.HOME;
  }
}

export const contextName = (config: Pick<Config, 'cluster'>, identity: Pick<Identity, 'name'>): string => `${config.cluster.name}-${identity.name}`;

/** natscli expands `$VAR` and a leading `~` in cert, key and ca paths when it loads a context. */
function checkLiteralPath(path: string): string {
  if (path.includes('$')) {
    throw new UserError(`${path} contains '$', which nats would expand as an environment variable: `
      + "move the project (or pki.dir) to a path without '$'");
  }
  return path;
}

/**
 * One context per authorized identity (the others cannot connect), pointing at the PKI's absolute
 * paths, marked as written by the project checkout at `checkout` (absolute).
 */
export function natsContexts(config: Pick<Config, 'cluster' | 'pki'>, paths: PkiPaths, checkout: string): NatsContext[] {
  return config.pki.identities.filter((identity) => identity.authorized).map((identity) => ({
    name: contextName(config, identity),
    identity,
    checkout,
    settings: {
      description: `${markerOf(checkout)} ${identity.name} on k3d cluster ${config.cluster.name} (written by npm run contexts)`,
      url: natsUrl(config.cluster),
      cert: checkLiteralPath(paths.identityCert(identity.name)),
      key: checkLiteralPath(paths.identityKey(identity.name)),
      ca: checkLiteralPath(paths.caCert),
    },
  }));
}

/** The file's exact text: natscli's own layout (two-space JSON), so `nats context edit` diffs stay small. */
export const contextText = (settings: NatsContextSettings): string => `${JSON.stringify(settings, null, 2)}\n`;

/**
 * Who wrote the context `text`: a checkout of this project (`checkout`, undefined when an earlier
 * version wrote it without naming one; `ca` then tells whose keys it uses), or undefined when the
 * file is not one of this project's contexts.
 */
function writerOf(text: string): { checkout?: string; ca?: unknown } | undefined {
  let parsed: { description?: unknown; ca?: unknown } | null;
  try {
    parsed = JSON.parse(text) as typeof parsed;
  } catch {
    return undefined;
  }
  const description = parsed?.description;
  if (typeof description !== 'string') return undefined;
  if (description.startsWith(UNNAMED_CHECKOUT_MARKER)) return { ca: parsed?.ca };
  const quoted = new RegExp(`^${CONTEXT_MARKER} ("(?:[^"\\\\]|\\\\.)*"):`).exec(description)?.[1];
  return quoted === undefined ? undefined : { checkout: JSON.parse(quoted) as string };
}

/** Why the context file `file` is not ours to replace, or undefined when it is. */
function refusal(context: NatsContext, file: string, existing: string | undefined): string | undefined {
  const writer = existing === undefined ? undefined : writerOf(existing);
  const removeIt = `remove it (nats context rm ${context.name}) and run npm run contexts again`;
  if (writer === undefined) {
    return `${file} is a nats context this project did not write (its description does not start with '${CONTEXT_MARKER}'): `
      + `left as it is — remove or rename it (nats context rm ${context.name}) and run npm run contexts again`;
  }
  if (writer.checkout === undefined) {
    return writer.ca === context.settings.ca ? undefined
      : `${file} was written by an earlier npm run contexts for the keys at ${String(writer.ca)}, not this checkout's: left as it is — ${removeIt}`;
  }
  if (writer.checkout !== context.checkout) {
    return `${file} belongs to another checkout of this project, ${writer.checkout}: left as it is — use it from there, `
      + `give this checkout its own cluster.name (contexts are named <cluster.name>-<identity>), or ${removeIt}`;
  }
  return undefined;
}

/** What writing `context` into `dir` does, without writing. */
function outcomeOf(context: NatsContext, dir: string, text: string): ContextOutcome {
  const file = join(dir, `${context.name}.json`);
  let stat;
  try {
    stat = lstatSync(file);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return { name: context.name, file, status: 'written' };
    throw error;
  }
  // A symbolic link or anything but a plain file is the user's arrangement, whatever it points at.
  const existing = stat.isFile() ? readFileSync(file, 'utf8') : undefined;
  const warning = refusal(context, file, existing);
  if (warning !== undefined) return { name: context.name, file, status: 'skipped', warning };
  const unchanged = existing === text && (stat.mode & 0o077) === 0;
  return { name: context.name, file, status: unchanged ? 'unchanged' : 'updated' };
}

export interface WriteContextsOptions {
  /** Report what would happen and write nothing (no folder either). */
  readonly dryRun?: boolean;
}

/**
 * Writes each context to `<dir>/<name>.json` (0600: it names the private key) atomically, creating
 * `dir` 0700 as natscli does. A file this project did not write is never replaced; one it wrote
 * with the same content is left untouched.
 */
export function writeNatsContexts(contexts: readonly NatsContext[], dir: string, options: WriteContextsOptions = {}): ContextOutcome[] {
  const texts = contexts.map(({ settings }) => contextText(settings));
  const outcomes = contexts.map((context, i) => outcomeOf(context, dir, texts[i]));
  const toWrite = outcomes.flatMap(({ file, status }, i) => (status === 'written' || status === 'updated' ? [{ file, text: texts[i] }] : []));
  if (!options.dryRun && toWrite.length) {
    makeFolders(dir, DIR_MODE, { what: 'the nats context folder', fix: 'set XDG_CONFIG_HOME (or HOME) to a folder you can write into' });
    for (const { file, text } of toWrite) writeFileAtomic(file, text, FILE_MODE);
  }
  return outcomes;
}

/**
 * A subject the identity may publish to, preferring `demo`, then one its publish allow-list names;
 * `subscribe` says whether it may also listen there. Undefined when it may publish nowhere we can name.
 */
export function demoSubject(identity: Pick<Identity, 'permissions'>): { subject: string; subscribe: boolean } | undefined {
  const { publish, subscribe } = identity.permissions ?? {};
  const candidates = ['demo', ...(publish?.allow ?? []).map((pattern) => concreteSubject(pattern, 'demo'))];
  const subject = candidates.find((candidate) => expectedAccess(publish, candidate) === 'allowed');
  return subject === undefined ? undefined : { subject, subscribe: expectedAccess(subscribe, subject) === 'allowed' };
}

/** The commands to try a context with, as a user types them. */
export function tryCommands(context: Pick<NatsContext, 'name' | 'identity'>): string[] {
  const demo = demoSubject(context.identity);
  const nats = `nats --context ${context.name}`;
  if (!demo) return [`${nats} rtt`];
  return [...(demo.subscribe ? [`${nats} sub ${demo.subject}`] : []), `${nats} pub ${demo.subject} hi`];
}
