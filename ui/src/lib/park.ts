// The valet-parking grid: slots 1–9 per extension lot, countdowns to the return, and which
// board call sits in a slot. Pure functions, unit-tested.
import type { CallView } from '../bindings/CallView';
import type { ParkBoardSnapshot } from '../bindings/ParkBoardSnapshot';
import type { ParkedCall } from '../bindings/ParkedCall';

export const SLOTS = [1, 2, 3, 4, 5, 6, 7, 8, 9] as const;

export type Lot = { extensionId: string | null; slots: (ParkedCall | null)[] };

/**
 * The lots to draw: one per extension that has parked calls (the own lot first when known),
 * and always at least one (empty) lot so the grid keeps its place.
 */
export function lotsOf(park: ParkBoardSnapshot, ownExtensionId: string | null = null): Lot[] {
  const ids = [...new Set(park.slots.map((s) => s.extension_id))];
  if (ownExtensionId && !ids.includes(ownExtensionId)) ids.unshift(ownExtensionId);
  ids.sort((a, b) => (a === ownExtensionId ? -1 : b === ownExtensionId ? 1 : a.localeCompare(b)));
  const lots: Lot[] = ids.map((id) => ({
    extensionId: id,
    slots: SLOTS.map((n) => park.slots.find((s) => s.extension_id === id && s.slot === n) ?? null),
  }));
  return lots.length > 0 ? lots : [{ extensionId: null, slots: SLOTS.map(() => null) }];
}

/** When the parked call returns to the parker, ms since the epoch; `null` when unknown. */
export function returnsAt(p: ParkedCall, park: ParkBoardSnapshot): number | null {
  if (typeof p.returns_at_ms === 'number') return p.returns_at_ms;
  if (typeof p.returns_in_secs === 'number') return park.at_ms + p.returns_in_secs * 1000;
  if (typeof p.parked_at_ms === 'number') return p.parked_at_ms + Number(park.timeout_secs) * 1000;
  return null;
}

export type SlotTiming = { leftMs: number; fraction: number; warning: boolean } | null;

/** Time left, the share of the timeout left (for a progress bar), and the warning flag. */
export function slotTiming(p: ParkedCall, park: ParkBoardSnapshot, now: number, warnSecs: number): SlotTiming {
  const at = returnsAt(p, park);
  if (at === null) return null;
  const leftMs = Math.max(0, at - now);
  const timeoutMs = Math.max(1, Number(park.timeout_secs) * 1000);
  return { leftMs, fraction: Math.min(1, leftMs / timeoutMs), warning: leftMs <= warnSecs * 1000 };
}

/** The board call parked in this slot: by its Telphin handle, else by slot number. */
export function callInSlot(p: ParkedCall, calls: CallView[]): CallView | null {
  const byRef = calls.find((c) =>
    c.refs.some(
      (r) =>
        r.source === 'telphin' &&
        ((p.call_api_id && r.call_id === p.call_api_id) || (p.call_uuid && r.call_id.endsWith(p.call_uuid))),
    ),
  );
  if (byRef) return byRef;
  return calls.find((c) => c.phase === 'parked' && c.parked_slot === p.slot) ?? null;
}

/** The agent's call that "Park here" would park: the newest live call of theirs not parked. */
export function parkableCall(calls: CallView[], mine: (c: CallView) => boolean): CallView | null {
  const live = calls.filter(
    (c) => (c.phase === 'active' || c.phase === 'held') && mine(c) && c.refs.some((r) => r.source === 'telphin'),
  );
  return live.length ? live[live.length - 1] : null;
}
