// Paint acknowledgement for the on-screen benchmark (`cti-bench screen`). Off unless the shell
// was started with CTI_PANEL_BENCH_PAINT=1: then, the first time an incoming call's card (or
// row) is rendered, the UI waits until the frame holding it has been painted and reports the
// card to the shell, which stamps the wall clock and prints a `PAINTED` line. When off, a
// rendered card costs one null check.
import type { CallView } from '../bindings/CallView';

/** `mountedMs`, `sentMs`: this clock (`Date.now()`) when the card entered the DOM and when the
 * report is sent (after the paint). */
export type PaintReport = (
  key: string,
  number: string,
  refs: string[],
  mountedMs: number,
  sentMs: number,
) => Promise<unknown>;

/** Cards remembered as reported; the oldest are forgotten past this many. */
export const PAINT_SEEN_MAX = 2000;

let report: PaintReport | null = null;
const seen = new Set<string>();

/** Turn the acknowledgement on (with the function that reports to the shell) or off (`null`). */
export function enablePaintAck(r: PaintReport | null): void {
  report = r;
  seen.clear();
}

/** Run `f` once the frame being prepared now has been painted: the next animation frame's
 * callback runs before that frame is painted, a task queued from it runs after. */
export function afterPaint(f: () => void): void {
  requestAnimationFrame(() => setTimeout(f, 0));
}

/** A call's card or row is in the DOM. Reports incoming calls once each (when enabled). */
export function cardRendered(call: CallView, number: string): void {
  if (!report || call.direction !== 'inbound' || seen.has(call.key)) return;
  seen.add(call.key);
  if (seen.size > PAINT_SEEN_MAX) {
    const oldest = seen.values().next().value;
    if (oldest !== undefined) seen.delete(oldest);
  }
  const mounted = Date.now();
  const r = report;
  const refs = call.refs.map((x) => `${x.source}:${x.call_id}`);
  afterPaint(() => {
    r(call.key, number, refs, mounted, Date.now()).catch(() => {
      /* a benchmark aid: a lost acknowledgement shows up as a missing card there */
    });
  });
}
