import { readdirSync, rmdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { Config } from '../config/config';
import { isTemporaryFile } from '../util/atomic-file';
import { GITIGNORE, PKI_FILE, vetPkiFolder } from './folder';
import { CA_STEM, ECHO_LEAF, pkiPaths, ROUTE_LEAF, SERVER_LEAF } from './paths';

/** Deleting PKI files: those of identities no longer configured (`--prune`), or the whole PKI (`down --purge`). */

/**
 * Certificates and keys in the PKI folder that belong to no identity of the configuration any
 * more (a removed identity): `npm run certs` reports them, `--prune` deletes exactly these.
 */
export function strayPkiFiles(config: Config, root: string): string[] {
  const paths = pkiPaths(config, root);
  if (!vetPkiFolder(root, config, paths)) return [];
  const known = new Set([CA_STEM, SERVER_LEAF, ROUTE_LEAF, ECHO_LEAF, ...config.pki.identities.map(({ name }) => name)]);
  return readdirSync(paths.dir).sort()
    .filter((name) => PKI_FILE.test(name) && !known.has(name.replace(/\.(crt|key)$/, '')))
    .map((name) => join(paths.dir, name));
}

/** Deletes the stray files `strayPkiFiles` finds; returns them. */
export function pruneStrayPkiFiles(config: Config, root: string): string[] {
  const stray = strayPkiFiles(config, root);
  for (const path of stray) rmSync(path);
  return stray;
}

/** What `removePki` did: the files it deleted, and whether the folder itself is gone. */
export interface RemovedPki {
  readonly removed: string[];
  /** Files it left because the PKI of this configuration did not write them. */
  readonly kept: string[];
  readonly folderRemoved: boolean;
}

/**
 * Deletes exactly the files this configuration's PKI writes (CA, server, each identity, the
 * git-ignore file, the check record, temporary files of interrupted writes), then the folder if that left it empty.
 * Nothing is deleted recursively; anything else in the folder is kept and reported.
 */
export function removePki(config: Config, root: string): RemovedPki {
  const paths = pkiPaths(config, root);
  if (!vetPkiFolder(root, config, paths)) return { removed: [], kept: [], folderRemoved: false };
  const ours = new Set([
    paths.caCert, paths.caKey, paths.serverCert, paths.serverKey, paths.routeCert, paths.routeKey, paths.echoCert, paths.echoKey,
    join(paths.dir, GITIGNORE), paths.checkRecord,
    ...config.pki.identities.flatMap(({ name }) => [paths.identityCert(name), paths.identityKey(name)]),
  ]);
  const removed: string[] = [];
  const kept: string[] = [];
  for (const name of readdirSync(paths.dir).sort()) {
    const path = join(paths.dir, name);
    if (ours.has(path) || isTemporaryFile(name)) {
      rmSync(path);
      removed.push(path);
    } else {
      kept.push(path);
    }
  }
  if (kept.length === 0) rmdirSync(paths.dir);
  return { removed, kept, folderRemoved: kept.length === 0 };
}
