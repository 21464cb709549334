/** Which checks are still waiting, and why, reported while they retry. */

/** Checks still retrying, each under the endpoint it waits for and the last reason it failed. */
export interface VerifyProgress {
  readonly elapsedMs: number;
  readonly waiting: ReadonlyArray<{ readonly check: string; readonly target: string; readonly reason: string }>;
}

export interface ProgressOptions {
  readonly onProgress?: (progress: VerifyProgress) => void;
  /** Default: every 5 s. */
  readonly everyMs?: number;
}

/** Often enough that a 60 s wait does not look like a hang, rarely enough to stay readable. */
const PROGRESS_EVERY_MS = 5000;

/** What each unfinished check last saw; reports it every `everyMs` while some wait. */
export class ProgressBoard {
  private readonly board = new Map<string, { target: string; reason: string }>();
  private readonly timer?: NodeJS.Timeout;

  constructor(started: number, { onProgress, everyMs = PROGRESS_EVERY_MS }: ProgressOptions) {
    if (!onProgress) return;
    this.timer = setInterval(() => {
      const waiting = [...this.board].map(([check, { target, reason }]) => ({ check, target, reason }));
      if (waiting.length > 0) onProgress({ elapsedMs: Date.now() - started, waiting });
    }, everyMs);
  }

  waiting(check: string, target: string, reason = 'no answer yet'): void {
    this.board.set(check, { target, reason });
  }

  done(check: string): void {
    this.board.delete(check);
  }

  stop(): void {
    clearInterval(this.timer);
  }
}

/** One progress line: `… 12 s: still waiting for echo http://… — nothing listening (…); nats tls://… (3 checks) — …`. */
export function formatProgress(progress: VerifyProgress): string {
  const byTarget = new Map<string, { checks: number; reasons: Set<string> }>();
  for (const { target, reason } of progress.waiting) {
    const entry = byTarget.get(target) ?? { checks: 0, reasons: new Set<string>() };
    entry.checks += 1;
    entry.reasons.add(reason);
    byTarget.set(target, entry);
  }
  const parts = [...byTarget].map(([target, { checks, reasons }]) =>
    `${target}${checks > 1 ? ` (${checks} checks)` : ''} — ${[...reasons].join(' / ')}`);
  return `… ${Math.round(progress.elapsedMs / 1000)} s: still waiting for ${parts.join('; ')}`;
}
