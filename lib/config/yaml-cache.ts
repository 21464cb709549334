import { createHash } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { deserialize, serialize } from 'node:v8';
import { writeFileAtomic } from '../util/atomic-file';

/**
 * A large configuration's settings remembered by its text. yaml takes about half a second to parse
 * a fleet's 10,000 lines (1,000 identities, 220 KB) — most of what a no-op synth then does — and
 * the settings are a function of the text and yaml's version alone. An entry is named by the hash
 * of both and holds the hash of its own bytes: a damaged or foreign entry is parsed again, never
 * used. Kept in node_modules/.cache beside the compiled TypeScript (scripts/lib/ts-hook.cjs).
 */

const CACHE = join(__dirname, '..', '..', 'node_modules', '.cache', 'k3s-nats-tls-config');
/** Shorter texts parse in milliseconds: not worth an entry. */
export const CACHED_FROM_LENGTH = 32 * 1024;
/** Entries kept: the configurations a checkout switches between, not every edit of one. */
const MAX_ENTRIES = 8;
const DIGEST_BYTES = 32;
const YAML_VERSION = (require('yaml/package.json') as { version: string }).version;

const sha256 = (data: string | Uint8Array): Buffer => createHash('sha256').update(data).digest();
/** The entry for `text` (tests damage it). */
export const entryOf = (text: string): string => join(CACHE, `${sha256(`yaml ${YAML_VERSION}\0${text}`).toString('hex')}.v8`);

/** The settings parsed from exactly this text before, or undefined. */
export function cachedSettings(text: string): { readonly settings: unknown } | undefined {
  if (text.length < CACHED_FROM_LENGTH) return undefined;
  try {
    const entry = readFileSync(entryOf(text));
    const payload = entry.subarray(DIGEST_BYTES);
    if (!sha256(payload).equals(entry.subarray(0, DIGEST_BYTES))) return undefined;
    return { settings: deserialize(payload) as unknown };
  } catch {
    return undefined;
  }
}

/** Remembers the settings parsed from `text`; a cache that cannot be written only costs speed. */
export function cacheSettings(text: string, settings: unknown): void {
  if (text.length < CACHED_FROM_LENGTH) return;
  try {
    mkdirSync(CACHE, { recursive: true, mode: 0o755 });
    const payload = serialize(settings);
    writeFileAtomic(entryOf(text), Buffer.concat([sha256(payload), payload]));
    // The newest first; a killed run's temporary file ages out with the rest.
    const entries = readdirSync(CACHE).map((name) => join(CACHE, name))
      .map((file) => ({ file, mtimeMs: statSync(file).mtimeMs })).sort((a, b) => b.mtimeMs - a.mtimeMs);
    for (const { file } of entries.slice(MAX_ENTRIES)) rmSync(file, { force: true });
  } catch {
    // Not cached: the next run parses again.
  }
}
