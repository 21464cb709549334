import { chmodSync, readdirSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { Config } from '../config/config';
import { pkiDirSetting } from '../config/layout';
import { isTemporaryFile, writeFileAtomic, writeFilesAtomic } from '../util/atomic-file';
import { displayPath } from '../util/display-path';
import { UserError } from '../util/errors';
import { PkiError } from '../util/errors';
import { readRegularFile } from '../util/plain-paths';
import { makeFolder, vetFolder } from '../util/project-folder';
import type { IssuedPair } from './issue';
import { CHECK_RECORD, type PkiPaths } from './paths';

/** The PKI folder on disk: what it may hold, how it is made private and git-ignored, how files are read and written. */

const KEY_MODE = 0o600;
const CERT_MODE = 0o644;
const DIR_MODE = 0o700;

/**
 * What the PKI folder may hold: certificates and keys, its git-ignore file, the check record, and
 * temporary files of interrupted writes.
 */
export const PKI_FILE = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?\.(crt|key)$/;
export const GITIGNORE = '.gitignore';
/** Ignores everything in the folder, itself included: no key can become committable, wherever pki.dir points. */
const GITIGNORE_TEXT = '# Written by k3s-nats-tls: private keys never enter git.\n*\n';
const ownsPkiFile = (name: string, isDirectory: boolean): boolean =>
  !isDirectory && (PKI_FILE.test(name) || name === GITIGNORE || name === CHECK_RECORD || isTemporaryFile(name));

/** Whether the PKI folder exists, after refusing it if it lies outside the project, is a link or holds foreign files. */
export function vetPkiFolder(root: string, config: Pick<Config, 'pki'>, paths: PkiPaths): boolean {
  return vetFolder({ root, path: paths.dir, folder: pkiDirSetting(config), owns: ownsPkiFile });
}

/** A PKI file's text, or undefined when it does not exist; anything unreadable is an error naming the fix. */
export function readIfExists(path: string): string | undefined {
  try {
    return readRegularFile(path, { what: 'the PKI file', fix: 'delete it to have it re-issued' });
  } catch (error) {
    if (error instanceof UserError) throw error;
    throw new PkiError(`cannot read ${displayPath(path)}: ${(error as Error).message}. Fix its permissions, or delete it to have it re-issued.`);
  }
}

/**
 * Vets the PKI folder (inside the project, no links, nothing foreign), removes temporary files of
 * killed runs, and makes it private to its owner and git-ignored. The caller holds the project lock.
 */
export function preparePkiFolder(root: string, config: Pick<Config, 'pki'>, paths: PkiPaths): void {
  if (vetPkiFolder(root, config, paths)) {
    for (const name of readdirSync(paths.dir).filter(isTemporaryFile)) rmSync(join(paths.dir, name));
  }
  makeFolder(root, paths.dir, DIR_MODE);
  const gitignore = join(paths.dir, GITIGNORE);
  if (readIfExists(gitignore) !== GITIGNORE_TEXT) writeFileAtomic(gitignore, GITIGNORE_TEXT, CERT_MODE);
}

/** Reused keys keep their bytes, but never stay readable by others. */
export function keepKeyPrivate(path: string): void {
  if ((statSync(path).mode & 0o777) !== KEY_MODE) chmodSync(path, KEY_MODE);
}

/** Certificates and their keys, each key 0600 from its first byte, flushed together (a fleet's are thousands of files). */
export function writePairs(pairs: ReadonlyArray<{ readonly certPath: string; readonly keyPath: string; readonly pair: IssuedPair }>): Promise<void> {
  return writeFilesAtomic(pairs.flatMap(({ certPath, keyPath, pair }) => [
    { path: keyPath, data: pair.key, mode: KEY_MODE },
    { path: certPath, data: pair.cert, mode: CERT_MODE },
  ]));
}
