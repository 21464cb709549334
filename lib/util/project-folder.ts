import { chmodSync, lstatSync, readdirSync, type Stats } from 'node:fs';
import { isAbsolute, join, normalize, relative, resolve, sep } from 'node:path';
import { UserError } from './errors';
import { makeFolders } from './plain-paths';

/**
 * The one rule for every folder the tool writes into (the PKI folder, the synth output): it lies
 * strictly inside the project, is not the project itself, no part of it is a symbolic link, and it
 * holds only files the tool itself writes. Anything else is refused before a byte is written, so
 * no setting can make the tool write keys into /etc, delete the project, or follow a link.
 */

/** A setting that names a folder, for error messages: `pki.dir`, `CDK8S_OUTDIR`. */
export interface FolderSetting {
  readonly setting: string;
  /** The value as the user wrote it. */
  readonly value: string;
}

/** A project root the tool has to create (a test's scratch project). */
const ROOT_MODE = 0o755;

/** Folders that belong to other tools: writing keys or manifests there would mix them with foreign files. */
const RESERVED_TOP_LEVEL = ['.git', 'node_modules'];

/**
 * Why `value` cannot name a project folder, or undefined when it can. A pure check on the text,
 * so the configuration can refuse it at load, before anything looks at the disk.
 */
export function folderValueProblem(value: string): string | undefined {
  if (value.trim() === '') return 'must name a folder';
  if (isAbsolute(value)) return 'must be a path relative to the project folder, not an absolute path';
  const normal = normalize(value);
  if (normal === '.' || normal === `.${sep}`) return 'must be a folder inside the project, not the project folder itself';
  if (normal === '..' || normal.startsWith(`..${sep}`)) return "must stay inside the project folder (no '..')";
  const top = normal.split(sep)[0];
  if (RESERVED_TOP_LEVEL.includes(top)) return `must not be inside ${top}/, which belongs to another tool`;
  return undefined;
}

/** Resolves the setting to an absolute path inside `root`; throws a UserError naming the setting, the value and the rule. */
export function projectFolder(root: string, folder: FolderSetting): string {
  const problem = folderValueProblem(folder.value);
  if (problem) throw new UserError(`${folder.setting} '${folder.value}' ${problem}.`);
  return resolve(root, folder.value);
}

function lstatIfExists(path: string): Stats | undefined {
  try {
    return lstatSync(path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
}

/**
 * Which entries of a folder the tool owns: a file name (or, for `isDirectory`, a sub-folder) that it
 * writes there. Everything else is foreign.
 */
export type OwnsEntry = (name: string, isDirectory: boolean) => boolean;

export interface VetOptions {
  readonly root: string;
  readonly path: string;
  readonly folder: FolderSetting;
  readonly owns: OwnsEntry;
}

const refuse = (folder: FolderSetting, path: string, rule: string) =>
  new UserError(`${folder.setting} '${folder.value}' (${path}) ${rule}.`);

/**
 * Checks what is on disk: no symbolic link between the project root and the folder, the folder (if
 * it exists) a real directory whose entries — recursively, for owned sub-folders — are regular files
 * the tool owns. Returns whether the folder exists.
 */
export function vetFolder({ root, path, folder, owns }: VetOptions): boolean {
  const inside = relative(root, path);
  let current = root;
  for (const part of inside.split(sep)) {
    current = join(current, part);
    const stats = lstatIfExists(current);
    if (!stats) return false;
    if (stats.isSymbolicLink()) throw refuse(folder, path, `goes through the symbolic link ${current}: use a real folder inside the project`);
    if (!stats.isDirectory()) throw refuse(folder, path, `is not a folder (${current} is a file): move that file or choose another folder`);
  }
  vetEntries(path, '', folder, owns);
  return true;
}

function vetEntries(dir: string, prefix: string, folder: FolderSetting, owns: OwnsEntry): void {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const name = `${prefix}${entry.name}`;
    const path = join(dir, entry.name);
    if (entry.isSymbolicLink()) throw refuse(folder, path, 'holds a symbolic link: the tool writes only real files, so remove the link');
    if (entry.isDirectory() && owns(name, true)) {
      vetEntries(path, `${name}/`, folder, owns);
      continue;
    }
    if (!entry.isFile() || !owns(name, false)) {
      throw refuse(folder, path, `holds ${name}${entry.isDirectory() ? '/' : ''}, which this tool did not write: choose an empty folder or one only this tool writes into`);
    }
  }
}

/**
 * Creates the folder (and its parents inside the project) with exactly `mode`, whatever the umask,
 * or tightens a vetted existing one to it. Call `vetFolder` first.
 */
export function makeFolder(root: string, path: string, mode: number): void {
  const use = { what: 'the folder', fix: 'choose a folder you can write into' };
  // The root comes from the code (the project folder, or a test's scratch folder), never from a setting.
  makeFolders(root, ROOT_MODE, use);
  makeFolders(path, mode, use);
  if ((lstatSync(path).mode & 0o777) !== mode) chmodSync(path, mode);
}
