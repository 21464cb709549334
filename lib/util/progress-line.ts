/** A count and a rate while a long job runs: one line rewritten in place on a terminal, a line now and then in a log. */

/** Reports that `done` of `total` are finished; `done === total` ends the report. */
export type Progress = (done: number, total: number) => void;

export interface ProgressStream {
  readonly isTTY?: boolean;
  write(text: string): unknown;
}

export interface ProgressLineOptions {
  /** What is counted, in the plural: `certificates issued`. */
  readonly what: string;
  /** Default: process.stdout. */
  readonly stream?: ProgressStream;
  /** A log gets a line this often (default 5 s): often enough that a long run does not look like a hang. */
  readonly everyMs?: number;
  readonly clock?: () => number;
}

/** A terminal redraws at most this often: more would cost more than the work it reports. */
const REDRAW_MS = 100;
const LOG_EVERY_MS = 5000;

/**
 * A `Progress` that prints `  340/1,000 certificates issued, 52/s`. On a terminal the line is
 * rewritten and erased at the end (the caller's summary takes its place); elsewhere it is printed
 * every `everyMs`, so a log shows a slow run advancing but a fast one stays quiet.
 */
export function progressLine({ what, stream = process.stdout, everyMs = LOG_EVERY_MS, clock = Date.now }: ProgressLineOptions): Progress {
  const started = clock();
  const tty = stream.isTTY === true;
  let shownAt = started;
  let drawn = false;
  return (done, total) => {
    const now = clock();
    if (done >= total) {
      if (drawn && tty) stream.write('\r\x1b[K');
      drawn = false;
      return;
    }
    if (now - shownAt < (tty ? REDRAW_MS : everyMs)) return;
    shownAt = now;
    const rate = done / Math.max((now - started) / 1000, 0.001);
    const line = `  ${done.toLocaleString('en')}/${total.toLocaleString('en')} ${what}, ${Math.round(rate).toLocaleString('en')}/s`;
    stream.write(tty ? `\r${line}\x1b[K` : `${line}\n`);
    drawn = true;
  };
}
