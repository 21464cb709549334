import { progressLine } from '../lib/util/progress-line';

/** A stream that records what is written to it, as a terminal or as a log file. */
function recorder(isTTY: boolean) {
  const written: string[] = [];
  return { stream: { isTTY, write: (text: string) => written.push(text) }, written };
}

describe('progressLine', () => {
  test('on a terminal: one line rewritten in place with the count and the rate, erased at the end', () => {
    let now = 0;
    const { stream, written } = recorder(true);
    const progress = progressLine({ what: 'certificates issued', stream, clock: () => now });
    now = 50;
    progress(10, 1000); // within the redraw interval: nothing drawn yet
    expect(written).toEqual([]);
    now = 2000;
    progress(400, 1000);
    now = 2050;
    progress(420, 1000); // too soon after the last redraw
    now = 4000;
    progress(1000, 1000);
    expect(written).toEqual(['\r  400/1,000 certificates issued, 200/s\x1b[K', '\r\x1b[K']);
  });

  test('in a log: a whole line now and then, and nothing to erase; a run faster than that prints nothing', () => {
    let now = 0;
    const log = recorder(false);
    const progress = progressLine({ what: 'certificates issued', stream: log.stream, everyMs: 5000, clock: () => now });
    for (const [at, done] of [[1000, 100], [5000, 500], [6000, 600], [10_000, 900]]) {
      now = at;
      progress(done, 1000);
    }
    progress(1000, 1000);
    expect(log.written).toEqual(['  500/1,000 certificates issued, 100/s\n', '  900/1,000 certificates issued, 90/s\n']);

    const fast = recorder(false);
    const quick = progressLine({ what: 'certificates issued', stream: fast.stream, clock: () => 10 });
    quick(1, 2);
    quick(2, 2);
    expect(fast.written).toEqual([]);
  });
});
