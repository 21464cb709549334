import { randomBytes } from 'node:crypto';
import { closeSync, fsyncSync, openSync, renameSync, rmSync, writeSync } from 'node:fs';
import { open } from 'node:fs/promises';
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

export interface FileToWrite {
  readonly path: string;
  readonly data: string | Uint8Array;
  readonly mode: number;
}

/**
 * Files written in flight at once: enough for the disk to flush many together (each flush waits
 * on the journal, one after another they dominate a fleet's issuing), few enough to stay far below
 * the open-file limit.
 */
const FILES_IN_FLIGHT = 64;

/**
 * `writeFileAtomic` for many files: each one's temporary file is written and flushed concurrently
 * with the others, then all are renamed over their targets. Each target is either old or whole new.
 * If anything fails, every temporary file is removed and no target has changed.
 */
export async function writeFilesAtomic(files: readonly FileToWrite[]): Promise<void> {
  const temporaries = files.map(({ path }) => join(dirname(path), `.${basename(path)}.${randomBytes(6).toString('hex')}.tmp`));
  let next = 0;
  let failed = false;
  const writeOne = async (i: number) => {
    const handle = await open(temporaries[i], 'wx', files[i].mode);
    try {
      await handle.writeFile(files[i].data);
      await handle.sync();
    } finally {
      await handle.close();
    }
  };
  const worker = async () => {
    while (!failed && next < files.length) {
      await writeOne(next++).catch((error: unknown) => {
        failed = true;
        throw error;
      });
    }
  };
  const outcomes = await Promise.allSettled(Array.from({ length: Math.min(FILES_IN_FLIGHT, files.length) }, worker));
  const failure = outcomes.find((outcome): outcome is PromiseRejectedResult => outcome.status === 'rejected');
  if (failure) {
    for (const temporary of temporaries) rmSync(temporary, { force: true });
    throw failure.reason;
  }
  for (const [i, temporary] of temporaries.entries()) renameSync(temporary, files[i].path);
}
