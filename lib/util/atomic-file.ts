import { randomBytes } from 'node:crypto';
import { closeSync, fsyncSync, openSync, renameSync, rmSync, writeSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';

/** The name `writeFileAtomic` gives its temporary file: what a killed run may leave behind. */
export const isTemporaryFile = (name: string): boolean => /^\.[^/]+\.[0-9a-f]{12}\.tmp$/.test(name);

/**
 * Writes `path` so that readers see either the old file or the whole new one: the data goes to a
 * sibling temporary file (created with `mode`, so a key is never readable by others, not even
 * briefly), is flushed, then renamed over the target.
 */
export function writeFileAtomic(path: string, data: string | Uint8Array, mode = 0o644): void {
  const temporary = join(dirname(path), `.${basename(path)}.${randomBytes(6).toString('hex')}.tmp`);
  const fd = openSync(temporary, 'wx', mode);
  try {
    writeSync(fd, typeof data === 'string' ? Buffer.from(data, 'utf8') : data);
    fsyncSync(fd);
  } catch (error) {
    closeSync(fd);
    rmSync(temporary, { force: true });
    throw error;
  }
  closeSync(fd);
  try {
    renameSync(temporary, path);
  } catch (error) {
    rmSync(temporary, { force: true });
    throw error;
  }
}
