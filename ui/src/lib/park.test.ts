import { describe, expect, it } from 'vitest';
import { call, park, parked, T0 } from '../test/fixtures';
import { callInSlot, lotsOf, parkableCall, returnsAt, slotTiming } from './park';

describe('parking grid', () => {
  it('draws one empty lot when nothing is parked', () => {
    const lots = lotsOf(park());
    expect(lots).toHaveLength(1);
    expect(lots[0].slots).toHaveLength(9);
    expect(lots[0].slots.every((s) => s === null)).toBe(true);
  });

  it('places parked calls in their slots, one lot per extension, own lot first', () => {
    const lots = lotsOf(park([parked({ slot: 6 }), parked({ extension_id: '555', slot: 1 })]), '34414');
    expect(lots.map((l) => l.extensionId)).toEqual(['34414', '555']);
    expect(lots[0].slots[5]?.slot).toBe(6);
    expect(lots[1].slots[0]?.slot).toBe(1);
  });

  it('counts down to the return and warns near it', () => {
    const p = parked({ returns_at_ms: T0 + 180_000 });
    const b = park([p]);
    expect(slotTiming(p, b, T0, 30)).toEqual({ leftMs: 180_000, fraction: 1, warning: false });
    const late = slotTiming(p, b, T0 + 155_000, 30)!;
    expect(late.leftMs).toBe(25_000);
    expect(late.warning).toBe(true);
    expect(slotTiming(p, b, T0 + 200_000, 30)!.leftMs).toBe(0);
  });

  it('derives the return time from what the platform gave', () => {
    const b = park([], T0);
    expect(returnsAt(parked({ returns_at_ms: undefined, returns_in_secs: 60 }), b)).toBe(T0 + 60_000);
    expect(returnsAt(parked({ returns_at_ms: undefined, returns_in_secs: null, parked_at_ms: T0 }), b)).toBe(T0 + 180_000);
    expect(returnsAt(parked({ returns_at_ms: undefined, returns_in_secs: null, parked_at_ms: undefined }), b)).toBeNull();
  });

  it('finds the parked call on the board by its Telphin handle or slot', () => {
    const c = call({ key: 'x', phase: 'parked', parked_slot: 6 });
    expect(callInSlot(parked(), [c])?.key).toBe('x');
    const other = call({ key: 'y', refs: [{ source: 'webhook', call_id: 'w' }], phase: 'parked', parked_slot: 4 });
    expect(callInSlot(parked({ slot: 4, call_api_id: 'zzz' }), [other])?.key).toBe('y');
    expect(callInSlot(parked({ slot: 2, call_api_id: 'zzz' }), [other])).toBeNull();
  });

  it('picks the newest live call of mine with a Telphin handle to park', () => {
    const a = call({ key: 'a', phase: 'active' });
    const b = call({ key: 'b', phase: 'held', created_ms: T0 + 1 });
    const ringing = call({ key: 'r', created_ms: T0 + 2 });
    expect(parkableCall([a, b, ringing], () => true)?.key).toBe('b');
    expect(parkableCall([a, b], (c) => c.key === 'a')?.key).toBe('a');
    expect(parkableCall([ringing], () => true)).toBeNull();
  });
});
