import { X509Certificate } from 'node:crypto';
import { rmSync } from 'node:fs';
import type { Config } from '../config/config';
import { displayPath } from '../util/display-path';
import { LINE_EACH_UP_TO, listed } from '../util/listed';
import type { Progress } from '../util/progress-line';
import { CheckRecord } from './check-record';
import { keepKeyPrivate, preparePkiFolder, writePairs } from './folder';
import type { IssuedPair, LeafSpec } from './issue';
import { generateKeys, keyName } from './keys';
import { CA_COMMON_NAME, checkRenewNames, leavesOf, type Leaf } from './leaves';
import { keyFileOf, pkiPaths, type PkiPaths } from './paths';
import { inspectLeaf, leafFactsOf, loadCa, unchangedWithin, type LeafFacts, type LoadedCa } from './x509-checks';

/**
 * The dev PKI: a CA, the NATS server's and http-echo's certificates and one client certificate per identity, kept in
 * `config.pki.dir`. Valid files are reused byte for byte and checked with Node's native X.509 code;
 * node-forge (slow to load) is loaded only when something must be issued.
 */

export interface EnsurePkiOptions {
  /** The project folder `config.pki.dir` lies in; default: the current directory. */
  baseDir?: string;
  /** Replace everything, the CA included. */
  force?: boolean;
  /** Re-issue these leaves from the same CA although they are valid: `server` or identity names. */
  renew?: readonly string[];
  now?: Date;
  log?: (line: string) => void;
  /** Told how many certificates are issued so far, while a run issues them (lib/util/progress-line.ts draws it). */
  progress?: Progress;
}

/** PEM texts of what the NATS server needs, as this run checked or issued them; `issued`/`reused` list file paths. */
export interface PkiResult {
  caCert: string;
  serverCert: string;
  serverKey: string;
  /** The routes' certificate and key, when `nats.replicas` > 1. */
  route?: IssuedPair;
  /** http-echo's HTTPS certificate and key (`echo.tls.hosts`). */
  echo: IssuedPair;
  paths: PkiPaths;
  issued: string[];
  reused: string[];
  /** When a run finds these files as they are (lib/pki/x509-checks.ts): a later run within it issues nothing unless files or settings change. */
  unchangedWithin: { readonly from: number; readonly until: number };
}

/** Issued pairs written (and flushed) together. */
const PAIRS_PER_BATCH = 100;

/** What a run decided: the CA to sign with (none: create one), the leaves to keep and those to issue. */
interface PkiPlan {
  readonly ca?: LoadedCa;
  /** What earlier runs checked against that CA. */
  readonly record?: CheckRecord;
  readonly leaves: readonly Leaf[];
  readonly keep: ReadonlyArray<{ readonly leaf: Leaf; readonly pair: IssuedPair; readonly facts: LeafFacts }>;
  readonly issue: readonly Leaf[];
}

function planPki(config: Config, paths: PkiPaths, options: EnsurePkiOptions, now: Date, log: (line: string) => void): PkiPlan {
  if (options.force) {
    // Gone before anything new is written: an interrupted --force then leaves no CA, and the next
    // run issues everything again instead of finding new leaves beside the old CA.
    rmSync(paths.caCert, { force: true });
    rmSync(paths.caKey, { force: true });
  }
  const ca = options.force ? undefined : loadCa(paths, config.pki.renewWithinDays, now, log);
  const leaves = leavesOf(config, paths);
  // Without a CA on disk the old leaves belong to no CA any more: issue them all.
  if (!ca) return { leaves, keep: [], issue: leaves };
  const record = new CheckRecord(paths.checkRecord, ca);
  const keep: Array<{ leaf: Leaf; pair: IssuedPair; facts: LeafFacts }> = [];
  const issue: Leaf[] = [];
  /** Why leaves are re-issued, with the certificates each reason applies to: one line per reason, however many. */
  const reasons = new Map<string, string[]>();
  const reissue = (leaf: Leaf, why: string) => {
    const files = reasons.get(why) ?? [];
    files.push(displayPath(leaf.certPath));
    reasons.set(why, files);
  };
  const renew = new Set(options.renew ?? []);
  for (const leaf of leaves) {
    const verdict = inspectLeaf(leaf, ca, config.pki, now, record);
    if (verdict.reuse && renew.has(leaf.name)) {
      reissue(leaf, 'renewal asked for');
      issue.push(leaf);
    } else if (verdict.reuse) {
      keep.push({ leaf, pair: verdict.pair, facts: verdict.facts });
    } else {
      if (verdict.why) reissue(leaf, verdict.why);
      issue.push(leaf);
    }
  }
  for (const [why, files] of reasons) log(`↻ re-issuing ${listed(files)}: ${why}`);
  return { ca, record, leaves, keep, issue };
}

function describeSpec(spec: LeafSpec): string {
  const names = [...spec.dnsNames, ...spec.ips, ...spec.emails];
  return `${spec.usages.join(' + ')}, CN=${spec.commonName}${names.length ? `, ${names.join(' ')}` : ''}`;
}

/** Issues what the plan says and writes it: leaves first, the CA last. Returns every pair by certificate path. */
async function issueAndWrite(
  config: Config, paths: PkiPaths, plan: PkiPlan, now: Date, log: (line: string) => void, progress: Progress,
): Promise<Map<string, IssuedPair>> {
  const pairs = new Map<string, IssuedPair>();
  if (plan.ca && plan.issue.length === 0) return pairs;
  const started = performance.now();
  const { validityDays } = config.pki;
  const total = plan.issue.length + (plan.ca ? 0 : 1);
  // The CA's key first: Node's thread pool takes keys in order, and no leaf can be signed before it.
  const caKey = plan.ca ? [] : generateKeys(1, config.pki);
  const keys = [...generateKeys(plan.issue.length, config.pki), ...caKey];
  // Loaded while the keys are generated; a synchronous require keeps ensurePki's callers CommonJS-simple.
  const { issueCertificates } = require('./issue') as typeof import('./issue');
  progress(0, total);
  // Written in batches as they are issued: flushing many files together costs little more than one.
  const batch: Array<{ certPath: string; keyPath: string; pair: IssuedPair }> = [];
  const flush = () => writePairs(batch.splice(0));
  // If this is interrupted before the CA is written, the next run finds no CA and issues everything
  // again instead of failing on leaves of an unknown CA.
  const result = await issueCertificates({
    ca: plan.ca, keys, caCommonName: CA_COMMON_NAME, leaves: plan.issue.map((leaf) => leaf.spec), validityDays, now,
    onLeaf: async (i, pair) => {
      const { certPath, keyPath } = plan.issue[i];
      batch.push({ certPath, keyPath, pair });
      pairs.set(certPath, pair);
      progress(pairs.size, total);
      if (batch.length >= PAIRS_PER_BATCH) await flush();
    },
  });
  await flush();
  if (result.ca) {
    await writePairs([{ certPath: paths.caCert, keyPath: paths.caKey, pair: result.ca }]);
    pairs.set(paths.caCert, result.ca);
  }
  progress(total, total);

  if (result.ca) log(`✔ issued ${displayPath(paths.caCert)} (new CA, ${keyName(config.pki)}, ${validityDays} days)`);
  if (plan.issue.length <= LINE_EACH_UP_TO) {
    for (const leaf of plan.issue) log(`✔ issued ${displayPath(leaf.certPath)} (${describeSpec(leaf.spec)})`);
  } else {
    const seconds = (performance.now() - started) / 1000;
    log(`✔ issued ${plan.issue.length.toLocaleString('en')} certificates (${keyName(config.pki)}) in ${seconds.toFixed(1)} s, `
      + `${Math.round(total / seconds).toLocaleString('en')}/s: ${listed(plan.issue.map((leaf) => displayPath(leaf.certPath)))}`);
  }
  return pairs;
}

/**
 * Records every leaf's pair as checked, for the CA now on disk: a kept pair with the facts its check
 * found, an issued one with what its certificate asserts (issued over its own key by that CA).
 * Returns the certificates' facts, the CA's first.
 */
function recordChecks(paths: PkiPaths, plan: PkiPlan, issued: ReadonlyMap<string, IssuedPair>): LeafFacts[] {
  const newCa = issued.get(paths.caCert);
  const record = newCa ? new CheckRecord(paths.checkRecord, { cert: newCa.cert, keyPem: newCa.key }) : plan.record!;
  const kept = new Map(plan.keep.map(({ leaf, pair, facts }) => [leaf.certPath, { pair, facts }]));
  const checked = plan.leaves.map((leaf) => {
    const pair = issued.get(leaf.certPath);
    return pair ? { pair, facts: leafFactsOf(new X509Certificate(pair.cert)) } : kept.get(leaf.certPath)!;
  });
  record.write(checked);
  return [leafFactsOf(newCa ? new X509Certificate(newCa.cert) : plan.ca!.x509), ...checked.map(({ facts }) => facts)];
}

/**
 * Makes `config.pki.dir` hold a CA, the NATS server and http-echo certificates and one client certificate per identity,
 * all valid and matching the configuration: reuses what is valid, re-issues a leaf that expires
 * within `renewWithinDays` or no longer matches (names, key type or size), creates the CA only when
 * there is none (or with `force`). Throws PkiError on damaged or foreign material rather than replacing it silently.
 * The caller holds the project lock (lib/util/project-lock.ts) so that no other run changes the folder meanwhile.
 */
export async function ensurePki(config: Config, options: EnsurePkiOptions = {}): Promise<PkiResult> {
  const now = options.now ?? new Date();
  const log = options.log ?? (() => undefined);
  const root = options.baseDir ?? process.cwd();
  const paths = pkiPaths(config, root);
  checkRenewNames(config, options.renew ?? []);
  preparePkiFolder(root, config, paths);

  const plan = planPki(config, paths, options, now, log);
  if (plan.ca) keepKeyPrivate(paths.caKey);
  for (const { leaf } of plan.keep) keepKeyPrivate(leaf.keyPath);
  const issued = await issueAndWrite(config, paths, plan, now, log, options.progress ?? (() => undefined));
  const facts = recordChecks(paths, plan, issued);

  // The PEMs this run checked or issued, never read back: another process cannot slip in between.
  const kept = new Map(plan.keep.map(({ leaf, pair }) => [leaf.certPath, pair]));
  const pairOf = (certPath: string) => issued.get(certPath) ?? kept.get(certPath);
  const server = pairOf(paths.serverCert)!;
  const filesOf = (certs: readonly string[]) => certs.flatMap((cert) => [cert, keyFileOf(cert)]);
  return {
    caCert: issued.get(paths.caCert)?.cert ?? plan.ca!.cert,
    serverCert: server.cert,
    serverKey: server.key,
    route: pairOf(paths.routeCert),
    echo: pairOf(paths.echoCert)!,
    paths,
    issued: filesOf([...issued.keys()]),
    reused: filesOf([...(plan.ca ? [paths.caCert] : []), ...kept.keys()]),
    unchangedWithin: unchangedWithin(facts, config.pki.renewWithinDays),
  };
}
