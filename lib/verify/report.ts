import type { VerifyOptions } from './options';

/** What a check came to, and how the results are worded: the table and the summary line. */

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
  readonly ms: number;
}

/** A table row before its endpoint, reachability and time are known. */
export type Row = Pick<CheckResult, 'check' | 'expected' | 'got' | 'ok' | 'cause' | 'detail' | 'degraded'>;

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

/** Failed checks grouped by their cause, in table order: `a, b — cause; c`. */
function failuresByCause(failed: readonly CheckResult[]): string {
  const groups = new Map<string | undefined, string[]>();
  for (const result of failed) groups.set(result.cause, [...(groups.get(result.cause) ?? []), result.check]);
  return [...groups].map(([cause, checks]) => `${checks.join(', ')}${cause ? ` — ${cause}` : ''}`).join('; ');
}

/** One line saying what the results mean and what to do next. */
export function summarize(results: readonly CheckResult[], options: VerifyOptions): string {
  const failed = results.filter((r) => !r.ok);
  if (failed.length === 0) return `all ${results.length} checks passed: the deployment behaves as configured`;
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
  return `${failed.length} of ${results.length} checks failed: ${failuresByCause(failed)}`;
}
