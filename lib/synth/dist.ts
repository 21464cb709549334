import { existsSync, lstatSync, mkdtempSync, readdirSync, readFileSync, rmdirSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { NATS_RENDERED_FILE, NATS_VALUES_FILE } from '../config/layout';
import { isTemporaryFile, writeFileAtomic } from '../util/atomic-file';
import { UserError } from '../util/errors';
import { readRegularFile, type PathUse } from '../util/plain-paths';
import { makeFolder, vetFolder, type FolderSetting } from '../util/project-folder';

/** cdk8s's file suffix for a chart's manifest. */
export const MANIFEST_SUFFIX = '.k8s.yaml';

/**
 * The list of files the last synth wrote, one relative path a line. Synth deletes a file only when
 * this list names it and the new synth no longer produces it: a shared folder's other files are
 * never touched. Committed with dist/, so a fresh clone knows what it owns.
 */
export const SYNTH_RECORD = '.synth-files';

/** What synth notes for its next run (lib/synth/synth-stamp.ts): git-ignored, it describes this machine's files. */
export const SYNTH_STAMP = '.synth-stamp';

/** Git-ignore rules synth writes into its folder, wherever CDK8S_OUTDIR puts it. */
export const OUTDIR_GITIGNORE = '.gitignore';

/**
 * The kustomization synth writes beside the manifests, so `kubectl apply -k dist`, Argo CD and Flux
 * apply the committed files as they are. It lists them explicitly: a GitOps tool must never pick up
 * a Secret file that happens to sit in a working copy, nor the rendered chart.
 */
export const KUSTOMIZATION_FILE = 'kustomization.yaml';

/** The kustomization listing `resources` (file names relative to the output folder). */
export function kustomizationDocument(resources: readonly string[]): string {
  return [
    '# Written by `npm run synth`: the committed manifests, for `kubectl apply -k`, Argo CD and Flux. Do not edit.',
    '# Not listed: the git-ignored files holding Secrets (they reach the cluster another way, see docs/gitops.md)',
    '# and helm/nats.yaml, the chart rendered by scripts/up.mjs.',
    'apiVersion: kustomize.config.k8s.io/v1beta1',
    'kind: Kustomization',
    'resources:',
    ...resources.map((file) => `  - ${file}`),
    '',
  ].join('\n');
}

const STAGING_PREFIX = '.synth-staging-';
const FOLDER_MODE = 0o755;
/** Readable by its owner only: a manifest holding a Secret, and the staging folder where it is first written. */
const SECRET_MODE = 0o600;

const holdsSecret = (text: string): boolean => /^kind: Secret$/m.test(text);

/** A name synth itself writes: a file, or one in a sub-folder, with no way out of the folder. */
const SYNTH_FILE_NAME = /^[\w][\w.-]*(\/[\w][\w.-]*)?$/;

/** A file in the output folder is synth's own: anything else where one should be is in the way. */
const OUTPUT_FILE: PathUse = { what: 'the synth output file', fix: 'remove it; synth writes it again' };

function readRecord(outdir: string): string[] {
  const path = join(outdir, SYNTH_RECORD);
  const text = readRegularFile(path, OUTPUT_FILE);
  if (text === undefined) return [];
  const names = text.split('\n').filter((line) => line && !line.startsWith('#'));
  const bad = names.find((name) => !SYNTH_FILE_NAME.test(name));
  if (bad !== undefined) throw new UserError(`${path} names '${bad}', which is not a file synth writes: restore the file from git, or delete it`);
  return names;
}

/** What the output folder may hold: what synth and the deploy script write there, and nothing else. */
function ownedBy(recorded: readonly string[]) {
  const owned = new Set([...recorded, SYNTH_RECORD, OUTDIR_GITIGNORE, SYNTH_STAMP, NATS_VALUES_FILE, NATS_RENDERED_FILE]);
  const folders = new Set([...owned].filter((file) => file.includes('/')).map((file) => dirname(file)));
  return (name: string, isDirectory: boolean): boolean => {
    const base = name.split('/').pop()!;
    if (isTemporaryFile(base)) return !isDirectory;
    if (name.startsWith(STAGING_PREFIX)) return isDirectory || name.split('/').length === 2;
    return isDirectory ? folders.has(name) : owned.has(name);
  };
}

/** The git-ignore file: the Secret files by name, the rendered chart, the stamp, and what an interrupted run leaves. */
function gitignoreText(secretFiles: readonly string[]): string {
  return [
    '# Written by `npm run synth`. Never commit these: a Secret holds a private key, the rendered chart',
    '# is made by scripts/up.mjs, the stamp describes this machine\'s files, and the rest are left by an',
    '# interrupted run.',
    ...secretFiles.map((file) => `/${file}`),
    `/${NATS_RENDERED_FILE}`,
    `/${SYNTH_STAMP}`,
    `${STAGING_PREFIX}*`,
    '.*.tmp',
    '',
  ].join('\n');
}

/** Deletes a staging folder of an interrupted run: its files, then the (then empty) folder. */
function removeStaging(path: string): void {
  for (const name of readdirSync(path)) rmSync(join(path, name));
  rmdirSync(path);
}

/**
 * The synth output folder. Opening it vets it (inside the project, no links, nothing foreign) and
 * removes what killed runs left behind; the caller holds the project lock, so no other run's files
 * are taken for leftovers. The cdk8s App synthesizes into `staging`, a private folder inside it;
 * `publish()` then moves every file into place atomically, writes the record and the git-ignore file,
 * and removes the recorded files synth no longer produces. An interrupted or failed synth leaves the
 * folder as it was; files synth does not own (the rendered NATS chart) are kept.
 */
export class DistStaging {
  private readonly recorded: string[];
  private stagingPath?: string;

  /** Vets the folder and clears what killed runs left; creates nothing yet. */
  constructor(readonly root: string, readonly outdir: string, folder: FolderSetting) {
    const exists = vetFolder({ root, path: outdir, folder, owns: ownedBy(readRecord(outdir)) });
    this.recorded = exists ? readRecord(outdir) : [];
    if (exists) removeLeftovers(outdir);
  }

  /** The private folder to synthesize into, created (with the output folder) on first use. */
  get staging(): string {
    if (!this.stagingPath) {
      makeFolder(this.root, this.outdir, FOLDER_MODE);
      this.stagingPath = mkdtempSync(join(this.outdir, STAGING_PREFIX));
    }
    return this.stagingPath;
  }

  /** The synthesized manifests that hold no Secret, in apply order: what is committed, and what a kustomization may list. */
  committableManifests(): string[] {
    return readdirSync(this.staging).filter((name) => name.endsWith(MANIFEST_SUFFIX)).sort()
      .filter((name) => !holdsSecret(readFileSync(join(this.staging, name), 'utf8')));
  }

  /** Moves the synthesized manifests and `extraFiles` (relative path → text) into place, leaving alone those already there; returns their paths. */
  publish(extraFiles: Readonly<Record<string, string>> = {}): string[] {
    const files = new Map<string, string>();
    for (const name of readdirSync(this.staging).sort()) files.set(name, readFileSync(join(this.staging, name), 'utf8'));
    for (const [name, text] of Object.entries(extraFiles)) files.set(name, text);

    const written: string[] = [];
    for (const [name, text] of files) {
      const path = join(this.outdir, name);
      if (dirname(name) !== '.') makeFolder(this.outdir, dirname(path), FOLDER_MODE);
      writeIfChanged(path, text, holdsSecret(text) ? SECRET_MODE : 0o644);
      written.push(path);
    }
    const secrets = [...files].filter(([, text]) => holdsSecret(text)).map(([name]) => name);
    writeIfChanged(join(this.outdir, OUTDIR_GITIGNORE), gitignoreText(secrets), 0o644);
    writeIfChanged(join(this.outdir, SYNTH_RECORD), recordText([...files.keys()]), 0o644);
    for (const name of this.recorded) {
      if (!files.has(name)) rmSync(join(this.outdir, name), { force: true });
    }
    return written;
  }

  discard(): void {
    if (this.stagingPath && existsSync(this.stagingPath)) removeStaging(this.stagingPath);
  }
}

/**
 * Writes `text` atomically unless the regular file there already holds it with `mode`: a synth that
 * changes nothing touches no file (nor its change time, which the stamp watches).
 */
function writeIfChanged(path: string, text: string, mode: number): void {
  const stats = lstatSync(path, { throwIfNoEntry: false });
  if (stats?.isFile() && (stats.mode & 0o777) === mode && stats.size === Buffer.byteLength(text) && readFileSync(path, 'utf8') === text) return;
  writeFileAtomic(path, text, mode);
}

function recordText(files: readonly string[]): string {
  return ['# Files `npm run synth` wrote here; it deletes only these. Do not edit.', ...[...files].sort(), ''].join('\n');
}

/** Staging folders and temporary files of killed runs (a temporary Secret holds a key). */
function removeLeftovers(outdir: string): void {
  for (const folder of [outdir, ...helmFolder(outdir)]) {
    for (const name of readdirSync(folder)) {
      const path = join(folder, name);
      if (name.startsWith(STAGING_PREFIX) && lstatSync(path).isDirectory()) removeStaging(path);
      else if (isTemporaryFile(name)) rmSync(path);
    }
  }
}

function helmFolder(outdir: string): string[] {
  const path = join(outdir, dirname(NATS_VALUES_FILE));
  return existsSync(path) ? [path] : [];
}

/**
 * The server certificate inside the synthesized Secret, or undefined when there is none yet: lets
 * `npm run certs` tell the user that dist/ still carries an older server certificate than keys/.
 */
export function synthesizedServerCertificate(outdir: string, certKey: string): string | undefined {
  for (const name of existsSync(outdir) ? readRecord(outdir) : []) {
    const text = readRegularFile(join(outdir, name), OUTPUT_FILE);
    if (text === undefined || !holdsSecret(text)) continue;
    const { parseAllDocuments } = require('yaml') as typeof import('yaml');
    for (const document of parseAllDocuments(text)) {
      const encoded = (document.toJS() as { data?: Record<string, string> } | null)?.data?.[certKey];
      if (encoded) return Buffer.from(encoded, 'base64').toString('utf8');
    }
  }
  return undefined;
}
