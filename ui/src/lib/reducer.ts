// Applying engine events to the snapshot. Pure functions (no Svelte, no Tauri), unit-tested:
// the store in state.svelte.ts calls `applyEvent` for every `UiEvent`.
import type { CallView } from '../bindings/CallView';
import type { ConnectionView } from '../bindings/ConnectionView';
import type { IvrSessionView } from '../bindings/IvrSessionView';
import type { ParkBoardSnapshot } from '../bindings/ParkBoardSnapshot';
import type { Platform } from '../bindings/Platform';
import type { Snapshot } from '../bindings/Snapshot';
import type { UiEvent } from '../bindings/UiEvent';

const PLATFORM_ORDER: Platform[] = ['era', 'telphin', 'listener'];

function byCreated(a: CallView, b: CallView): number {
  return a.created_ms - b.created_ms || (a.key < b.key ? -1 : a.key > b.key ? 1 : 0);
}

/** Insert or replace `item` (matched by `same`), keeping `cmp` order. */
function upsert<T>(list: T[], item: T, same: (a: T) => boolean, cmp?: (a: T, b: T) => number): T[] {
  const i = list.findIndex(same);
  const next = i >= 0 ? list.map((x, j) => (j === i ? item : x)) : [...list, item];
  return cmp ? next.sort(cmp) : next;
}

export function upsertCall(calls: CallView[], call: CallView): CallView[] {
  return upsert(calls, call, (c) => c.key === call.key, byCreated);
}

export function upsertConnection(list: ConnectionView[], c: ConnectionView): ConnectionView[] {
  return upsert(
    list,
    c,
    (x) => x.platform === c.platform,
    (a, b) => PLATFORM_ORDER.indexOf(a.platform) - PLATFORM_ORDER.indexOf(b.platform),
  );
}

export function upsertIvr(list: IvrSessionView[], s: IvrSessionView): IvrSessionView[] {
  return upsert(list, s, (x) => x.key === s.key, (a, b) => a.offer.at_ms - b.offer.at_ms);
}

/** A newer park board replaces the old one; a stale one (older `at_ms`) is ignored. */
export function newerPark(old: ParkBoardSnapshot, next: ParkBoardSnapshot): ParkBoardSnapshot {
  return next.at_ms >= old.at_ms ? next : old;
}

/**
 * The snapshot after `e`. Returns the same object when the event does not change the
 * snapshot (`notice`, `dial`, `history_changed`: the store handles those as side effects).
 */
export function applyEvent(s: Snapshot, e: UiEvent): Snapshot {
  switch (e.type) {
    case 'settings':
      return { ...s, settings: e.data };
    case 'call':
      return { ...s, calls: upsertCall(s.calls, e.data) };
    case 'call_removed':
      return s.calls.some((c) => c.key === e.data) ? { ...s, calls: s.calls.filter((c) => c.key !== e.data) } : s;
    case 'connection':
      return { ...s, connections: upsertConnection(s.connections, e.data) };
    case 'park': {
      const park = newerPark(s.park, e.data);
      return park === s.park ? s : { ...s, park };
    }
    case 'ivr':
      return { ...s, ivr: upsertIvr(s.ivr, e.data) };
    case 'ivr_removed':
      return s.ivr.some((x) => x.key === e.data) ? { ...s, ivr: s.ivr.filter((x) => x.key !== e.data) } : s;
    case 'decisions':
      return { ...s, decisions: e.data };
    case 'missed':
      return s.missed === e.data ? s : { ...s, missed: e.data };
    case 'team':
      return { ...s, team: e.data };
    case 'notice':
    case 'dial':
    case 'history_changed':
      return s;
    default:
      // Events this UI does not render yet (newer engines) leave the snapshot as it is.
      return s;
  }
}

/** Apply events in order (events received while the first snapshot was loading). */
export function applyAll(s: Snapshot, events: UiEvent[]): Snapshot {
  return events.reduce(applyEvent, s);
}
