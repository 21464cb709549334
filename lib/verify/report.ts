import type { PermissionCase } from '../nats/subjects';
import { count, listNames } from './names';
import type { VerifyOptions } from './options';

/** What a check came to, and how the results are worded: the table, a fleet's counts per kind, and the summary line. */

/** An identity's admission, or a kind of permission rule: what a fleet's summary counts. */
export type RuleKind = 'authorized' | 'not authorized' | `${PermissionCase['operation']} ${PermissionCase['kind']}`;

/** Whom a row is about, for the counts: which identity, the kind of rule, and what NATS did with its certificate. */
export interface IdentityFacts {
  readonly name: string;
  /** Its admission (authorized or not), or the permission rule it tried. */
  readonly kind: RuleKind;
  /** Admitted or refused as the configuration says, the opposite, or neither (nothing answered, it stalled, its message was lost). */
  readonly admission: 'as-configured' | 'opposite' | 'neither';
}

export interface CheckResult {
  readonly check: string;
  /** The URL the check talked to. */
  readonly endpoint: string;
  readonly expected: string;
  readonly got: string;
  readonly ok: boolean;
  /** Failed because nothing answered before the deadline, rather than answering wrongly. */
  readonly unreachable: boolean;
  /** For a failed check whose reason lies beyond the row: what is wrong and what to do, for the summary. */
  readonly cause?: string;
  /** More than the table has room for, a line to print under it. */
  readonly detail?: string;
  /** Failed because some servers of the NATS cluster do not answer (lib/verify/cluster-servers.ts), `cause` says which. */
  readonly degraded?: boolean;
  /** Set on the rows about one identity (lib/verify/nats-identities.ts). */
  readonly identity?: IdentityFacts;
  readonly ms: number;
}

/** A table row before its endpoint, reachability and time are known. */
export type Row = Pick<CheckResult, 'check' | 'expected' | 'got' | 'ok' | 'cause' | 'detail' | 'degraded' | 'identity'>;

export const plural = (count: number, noun: string): string => `${count} ${noun}${count === 1 ? '' : 's'}`;

export const seconds = (ms: number): string => `${(ms / 1000).toFixed(1)} s`;

export const quoted = (text: string): string => JSON.stringify(text.length > 60 ? `${text.slice(0, 57)}...` : text);

const formatMs = (ms: number): string => (ms < 1000 ? `${ms} ms` : seconds(ms));

/** A plain-text table: check, expected, got, time; a mark in front says whether they matched. */
export function formatTable(results: readonly CheckResult[]): string {
  const header = ['  check', 'expected', 'got', 'time'];
  const rows = results.map((r) => [`${r.ok ? '✔' : '✖'} ${r.check}`, r.expected, r.got, formatMs(r.ms)]);
  const widths = header.map((title, column) => Math.max(title.length, ...rows.map((row) => row[column].length)));
  const line = (cells: readonly string[]) => cells.map((cell, column) => cell.padEnd(widths[column])).join('  ').trimEnd();
  return [header, ...rows].map(line).join('\n');
}

/**
 * Up to this many identities, every row is in the table, as a handful of identities (the default
 * configuration has two) is read row by row; past it, the rows about identities that passed are
 * counted per kind instead, and the table keeps every failure.
 */
export const TABLE_IDENTITY_LIMIT = 10;

/** Whether the table lists this row rather than counting it: all rows of a small configuration, and every failure. */
export function isListed(result: CheckResult, options: VerifyOptions): boolean {
  return !result.identity || !result.ok || options.identities.length <= TABLE_IDENTITY_LIMIT;
}

type AdmissionKind = Extract<RuleKind, 'authorized' | 'not authorized'>;
const isAdmission = (kind: RuleKind): kind is AdmissionKind => kind === 'authorized' || kind === 'not authorized';

/** Per kind, in the order of the lines: what is counted, and the words for as configured and for not. */
const KIND_WORDS: ReadonlyArray<readonly [RuleKind, string, string, string]> = [
  ['authorized', 'authorized identities', 'admitted', 'refused'],
  ['not authorized', 'identities not authorized', 'refused', 'admitted'],
  ...(['publish', 'subscribe'] as const).flatMap((operation) => (['allow', 'deny'] as const).map((rule) =>
    [`${operation} ${rule}`, `${operation} ${rule} rules`, 'answered as configured', 'not'] as const)),
];

/** One line of a fleet's summary: its mark, and the counts. */
export interface KindCount {
  readonly ok: boolean;
  readonly line: string;
}

/**
 * The rows about identities counted per kind: `1,000 authorized identities admitted, 0 refused`,
 * `2,000 publish allow rules answered as configured, 0 not`. An authorized identity with
 * permissions counts among the authorized identities too: admitted when its rules could be tried.
 */
export function countByKind(results: readonly CheckResult[]): KindCount[] {
  const admissions = new Map<string, { kind: AdmissionKind; admission: IdentityFacts['admission'] }>();
  const rules = new Map<RuleKind, { passed: number; failed: number }>();
  for (const { identity, ok } of results) {
    if (!identity) continue;
    admissions.set(identity.name, { kind: identity.kind === 'not authorized' ? 'not authorized' : 'authorized', admission: identity.admission });
    if (isAdmission(identity.kind)) continue;
    const tally = rules.get(identity.kind) ?? { passed: 0, failed: 0 };
    if (ok) tally.passed += 1;
    else tally.failed += 1;
    rules.set(identity.kind, tally);
  }
  return KIND_WORDS.flatMap(([kind, noun, yes, no]): KindCount[] => {
    if (isAdmission(kind)) {
      const of = [...admissions.values()].filter((identity) => identity.kind === kind);
      const as = (admission: IdentityFacts['admission']) => of.filter((identity) => identity.admission === admission).length;
      const [passed, opposite, neither] = [as('as-configured'), as('opposite'), as('neither')];
      const other = neither > 0 ? `, ${count(neither)} failed otherwise` : '';
      return of.length === 0 ? [] : [{ ok: passed === of.length, line: `${count(passed)} ${noun} ${yes}, ${count(opposite)} ${no}${other}` }];
    }
    const tally = rules.get(kind);
    return tally ? [{ ok: tally.failed === 0, line: `${count(tally.passed)} ${noun} ${yes}, ${count(tally.failed)} ${no}` }] : [];
  });
}

/**
 * The table (see isListed), and for a configuration past TABLE_IDENTITY_LIMIT identities a line per
 * kind under it; the rows about identities that failed stay in the table, in full.
 */
export function formatReport(results: readonly CheckResult[], options: VerifyOptions): string {
  const table = formatTable(results.filter((result) => isListed(result, options)));
  if (options.identities.length <= TABLE_IDENTITY_LIMIT) return table;
  const lines = countByKind(results).map(({ ok, line }) => `${ok ? '✔' : '✖'} ${line}`);
  return [table, '', `${count(options.identities.length)} identities, counted per kind (every failure is a row above):`, ...lines].join('\n');
}

/** Failed checks grouped by their cause, in table order: `a, b — cause; c` (a long group names the first few). */
function failuresByCause(failed: readonly CheckResult[]): string {
  const groups = new Map<string | undefined, string[]>();
  for (const result of failed) groups.set(result.cause, [...(groups.get(result.cause) ?? []), result.check]);
  return [...groups].map(([cause, checks]) => `${listNames(checks)}${cause ? ` — ${cause}` : ''}`).join('; ');
}

/** One line saying what the results mean and what to do next. */
export function summarize(results: readonly CheckResult[], options: VerifyOptions): string {
  const failed = results.filter((r) => !r.ok);
  if (failed.length === 0) return `all ${count(results.length)} checks passed: the deployment behaves as configured`;
  if (results.every((r) => r.unreachable)) {
    const endpoints = [...new Set(failed.map((r) => r.endpoint))].join(' and ');
    return `nothing answered within ${options.timeoutMs / 1000} s at ${endpoints}: is the cluster up? (npx zx scripts/up.mjs), ` +
      'or pass --timeout for a slower start';
  }
  const degraded = failed.filter((r) => r.degraded);
  if (degraded.length > 0) {
    // Said first and apart: the rest of the deployment may well be healthy, and the reader needs to know whether it is.
    const others = failed.filter((r) => !r.degraded);
    const rest = others.length === 0
      ? `every other check passed (${results.length - failed.length} of ${results.length}): the rest of the deployment is healthy`
      : `${plural(others.length, 'other check')} failed too: ${failuresByCause(others)}`;
    return `${degraded[0].cause} (${degraded.map((r) => r.check).join(', ')}); ${rest}`;
  }
  return `${count(failed.length)} of ${count(results.length)} checks failed: ${failuresByCause(failed)}`;
}
