import { chmodSync, closeSync, constants, fstatSync, mkdirSync, openSync, readFileSync, statSync, type Stats } from 'node:fs';
import { isAbsolute, join, parse, sep } from 'node:path';
import { UserError } from './errors';

/**
 * The one way the tool reads a file a setting names and creates a folder under a root the user
 * chose: only regular files and folders are taken. Reading a named pipe blocks until something
 * writes to it, with the process deaf to Ctrl-C (its signal handlers are JavaScript, and the thread
 * that would run them is stuck in the read); Node's recursive mkdir spins for ever under /proc,
 * where mkdir answers ENOENT although the parent exists. Both are refused with one line instead.
 */

/** What a path is for, in the user's words, and what to do when it is not a regular file or folder. */
export interface PathUse {
  /** e.g. `the configuration file (K3S_NATS_TLS_CONFIG)`. */
  readonly what: string;
  readonly fix: string;
}

function kindOf(stats: Stats): string {
  if (stats.isFIFO()) return 'a named pipe (FIFO)';
  if (stats.isSocket()) return 'a socket';
  if (stats.isCharacterDevice()) return 'a character device';
  if (stats.isBlockDevice()) return 'a block device';
  if (stats.isDirectory()) return 'a folder';
  return 'a file';
}

/** stat (following links: a linked configuration file is fine), or undefined when nothing is there. */
function statIfExists(path: string): Stats | undefined {
  try {
    return statSync(path);
  } catch (error) {
    const { code } = error as NodeJS.ErrnoException;
    if (code === 'ENOENT' || code === 'ENOTDIR') return undefined;
    throw error;
  }
}

const notRegular = (path: string, stats: Stats, use: PathUse) =>
  new UserError(`${use.what} ${path} is ${kindOf(stats)}, not a regular file: ${use.fix}`);

/** The text of the regular file at `path`, or undefined when there is none; anything else is refused unopened. */
export function readRegularFile(path: string, use: PathUse): string | undefined {
  const stats = statIfExists(path);
  if (!stats) return undefined;
  if (!stats.isFile()) throw notRegular(path, stats, use);
  // Should a pipe take the file's place after the check, a non-blocking open returns at once and fstat tells.
  const fd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK | constants.O_NOCTTY);
  try {
    const opened = fstatSync(fd);
    if (!opened.isFile()) throw notRegular(path, opened, use);
    return readFileSync(fd, 'utf8');
  } finally {
    closeSync(fd);
  }
}

/**
 * Creates the absolute folder `path` one level at a time, each new level with exactly `mode`
 * (whatever the umask); levels that exist must be folders (links to folders count) and are left
 * as they are. A level the file system will not create is refused with `use.fix`.
 */
export function makeFolders(path: string, mode: number, use: PathUse): void {
  if (!isAbsolute(path)) throw new Error(`makeFolders needs an absolute path, got ${path}`);
  let current = parse(path).root;
  for (const part of path.slice(current.length).split(sep).filter(Boolean)) {
    current = join(current, part);
    const stats = statIfExists(current);
    if (stats?.isDirectory()) continue;
    if (stats) throw new UserError(`cannot create ${use.what} ${path}: ${current} is ${kindOf(stats)}, not a folder — ${use.fix}`);
    try {
      mkdirSync(current, { mode });
    } catch (error) {
      // Another run made it meanwhile.
      if ((error as NodeJS.ErrnoException).code === 'EEXIST' && statIfExists(current)?.isDirectory()) continue;
      throw new UserError(`cannot create ${use.what} ${path}: mkdir ${current} failed (${(error as NodeJS.ErrnoException).code}) — ${use.fix}`,
        { cause: error });
    }
    chmodSync(current, mode);
  }
}
