import { lstatSync, readdirSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { configFilePath, distDir, NATS_RENDERED_FILE } from '../config/layout';
import { writeFileAtomic } from '../util/atomic-file';
import { readRegularFile } from '../util/plain-paths';
import { SYNTH_STAMP } from './dist';
import type { StackFacts } from './stack';

/**
 * Synth's note to its next run, kept in the output folder (git-ignored, like make's timestamps, but
 * by content of the file system rather than by clock): every file the result was made from — the
 * configuration, the program's own modules, the installed packages' lock — and every file it wrote
 * or kept in the PKI and output folders, each by device, inode, mode, size and both change times;
 * the names in those folders; and the span of time in which its certificates stay as they are. A
 * run that finds all of it as recorded would write exactly what is there, so it writes nothing and
 * loads neither cdk8s nor the constructs. Anything different, missing or unreadable means a full synth.
 *
 * A change time moves with every write, rename, chmod and chown of a file, and cannot be set back
 * by a program; a folder's list of names catches files added or removed.
 */

const STAMP_VERSION = 1;

/** What the last synth produced, as its stamp holds it. */
export interface StampedSynth {
  /** The output folder, and every file synth placed in it. */
  readonly dist: string;
  readonly written: readonly string[];
  readonly stack: StackFacts;
  /** The PKI folder's certificates and keys, all valid and matching the configuration. */
  readonly pkiFiles: number;
}

interface Stamp {
  readonly key: string;
  /** Path → its mark (`mark`). */
  readonly files: Readonly<Record<string, string>>;
  /** Folder → the names in it (without the ones `unwatched` leaves out), or null when there is none. */
  readonly folders: Readonly<Record<string, readonly string[] | null>>;
  /** Milliseconds since the epoch: the stamp holds from `from` (inclusive) until `until`. */
  readonly from: number;
  readonly until: number;
  readonly result: StampedSynth;
}

/** Where a run's inputs are looked for: a different Node, project, configuration file or output folder is another stamp. */
const stampKey = (root: string, configFile: string, dist: string): string =>
  JSON.stringify({ version: STAMP_VERSION, node: process.version, root, configFile, dist });

/** A file as the file system has it now; a folder only as a folder (its names are watched on their own). */
function mark(path: string): string {
  const stats = lstatSync(path, { bigint: true, throwIfNoEntry: false });
  if (!stats) return 'missing';
  if (stats.isDirectory()) return 'folder';
  return [stats.dev, stats.ino, stats.mode, stats.uid, stats.size, stats.mtimeNs, stats.ctimeNs].join(':');
}

/**
 * Names in the output folder that change without changing what synth would write: the stamp itself,
 * and the NATS chart that scripts/up.mjs renders into helm/ after synth.
 */
const unwatched = (dist: string) => new Set([join(dist, SYNTH_STAMP), join(dist, NATS_RENDERED_FILE)]);

function listing(folder: string, skip: ReadonlySet<string>): string[] | null {
  try {
    return readdirSync(folder).filter((name) => !skip.has(join(folder, name))).sort();
  } catch {
    return null;
  }
}

export interface StampInputs {
  readonly root: string;
  readonly configFile: string;
  readonly dist: string;
  readonly keys: string;
  /** Files the result was made from besides the folders: the modules of the running program. */
  readonly sources: readonly string[];
  readonly unchangedWithin: { readonly from: number; readonly until: number };
  readonly result: Omit<StampedSynth, 'dist'>;
}

/** Records what synth just produced and everything it was made from; the caller holds the project lock, after publishing. */
export function writeSynthStamp(inputs: StampInputs): void {
  const { root, configFile, dist, keys } = inputs;
  const skip = unwatched(dist);
  const folders: Record<string, string[] | null> = {};
  const files: Record<string, string> = {};
  for (const folder of [keys, dist, join(dist, dirname(NATS_RENDERED_FILE))]) {
    const names = listing(folder, skip);
    folders[folder] = names;
    for (const name of names ?? []) files[join(folder, name)] = mark(join(folder, name));
  }
  // The installed packages: npm rewrites its hidden lock file on every install.
  for (const file of [configFile, join(root, 'node_modules', '.package-lock.json'), ...inputs.sources]) files[file] = mark(file);
  const stamp: Stamp = {
    key: stampKey(root, configFile, dist), files, folders, ...inputs.unchangedWithin, result: { dist, ...inputs.result },
  };
  writeFileAtomic(join(dist, SYNTH_STAMP), JSON.stringify(stamp));
}

/** Removes a stamp: for a synth that leaves none, so that no older one outlives it. */
export const removeSynthStamp = (dist: string): void => rmSync(join(dist, SYNTH_STAMP), { force: true });

/**
 * What the last synth produced, when nothing it was made from or wrote has changed since (and its
 * certificates are still as it found them at `now`); otherwise undefined. Reads only: a folder or
 * a setting that is wrong is for the full synth to report.
 */
export function unchangedSynth(root: string, env: NodeJS.ProcessEnv, now = Date.now()): StampedSynth | undefined {
  try {
    const dist = distDir(root, env);
    const text = readRegularFile(join(dist, SYNTH_STAMP), { what: 'the synth stamp', fix: 'remove it' });
    if (text === undefined) return undefined;
    const stamp = JSON.parse(text) as Stamp;
    if (stamp.key !== stampKey(root, configFilePath(root, env), dist) || !(now >= stamp.from && now < stamp.until)) return undefined;
    const skip = unwatched(dist);
    for (const [folder, names] of Object.entries(stamp.folders)) {
      if (JSON.stringify(listing(folder, skip)) !== JSON.stringify(names)) return undefined;
    }
    for (const [file, recorded] of Object.entries(stamp.files)) {
      if (mark(file) !== recorded) return undefined;
    }
    return stamp.result;
  } catch {
    // A stamp of another shape, or a folder that cannot be read: the full synth says what is wrong.
    return undefined;
  }
}
