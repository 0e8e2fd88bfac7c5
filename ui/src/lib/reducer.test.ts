import { describe, expect, it } from 'vitest';
import type { UiEvent } from '../bindings/UiEvent';
import { call, ivr, park, parked, snapshot, T0 } from '../test/fixtures';
import { applyAll, applyEvent } from './reducer';

describe('applyEvent', () => {
  it('adds a new call and replaces it by key, ordered by creation time', () => {
    let s = snapshot();
    s = applyEvent(s, { type: 'call', data: call({ key: 'b', created_ms: T0 + 1000 }) });
    s = applyEvent(s, { type: 'call', data: call({ key: 'a', created_ms: T0 }) });
    expect(s.calls.map((c) => c.key)).toEqual(['a', 'b']);
    s = applyEvent(s, { type: 'call', data: call({ key: 'b', created_ms: T0 + 1000, phase: 'active' }) });
    expect(s.calls.map((c) => [c.key, c.phase])).toEqual([
      ['a', 'ringing'],
      ['b', 'active'],
    ]);
  });

  it('removes calls and IVR sessions, ignoring unknown keys', () => {
    let s = snapshot({ calls: [call({ key: 'a' })], ivr: [ivr()] });
    const same = applyEvent(s, { type: 'call_removed', data: 'nope' });
    expect(same).toBe(s);
    s = applyEvent(s, { type: 'call_removed', data: 'a' });
    expect(s.calls).toEqual([]);
    s = applyEvent(s, { type: 'ivr_removed', data: 'k1' });
    expect(s.ivr).toEqual([]);
  });

  it('does not mutate the previous snapshot', () => {
    const s = snapshot({ calls: [call({ key: 'a' })] });
    const next = applyEvent(s, { type: 'call', data: call({ key: 'a', phase: 'ended' }) });
    expect(s.calls[0].phase).toBe('ringing');
    expect(next.calls[0].phase).toBe('ended');
  });

  it('keeps connections in platform order', () => {
    let s = snapshot();
    for (const platform of ['listener', 'era', 'telphin'] as const) {
      s = applyEvent(s, { type: 'connection', data: { platform, state: { state: 'connected', since_ms: T0 }, detail: '' } });
    }
    s = applyEvent(s, {
      type: 'connection',
      data: { platform: 'era', state: { state: 'backing_off', attempt: 2, next_attempt_ms: T0 + 4000, reason: 'refused' }, detail: '' },
    });
    expect(s.connections.map((c) => [c.platform, c.state.state])).toEqual([
      ['era', 'backing_off'],
      ['telphin', 'connected'],
      ['listener', 'connected'],
    ]);
  });

  it('takes a newer park board and ignores a stale one', () => {
    let s = snapshot({ park: park([], T0) });
    s = applyEvent(s, { type: 'park', data: park([parked()], T0 + 1000) });
    expect(s.park.slots).toHaveLength(1);
    const stale = applyEvent(s, { type: 'park', data: park([], T0 + 500) });
    expect(stale).toBe(s);
  });

  it('upserts IVR sessions and replaces decisions and the missed count', () => {
    let s = snapshot();
    s = applyEvent(s, { type: 'ivr', data: ivr() });
    s = applyEvent(s, { type: 'ivr', data: ivr({ state: 'controlled', dtmf: '12' }) });
    expect(s.ivr).toHaveLength(1);
    expect(s.ivr[0].dtmf).toBe('12');
    s = applyEvent(s, { type: 'missed', data: 3 });
    expect(s.missed).toBe(3);
    expect(applyEvent(s, { type: 'missed', data: 3 })).toBe(s);
    s = applyEvent(s, { type: 'decisions', data: [] });
    expect(s.decisions).toEqual([]);
  });

  it('leaves the snapshot alone for side-effect events and unknown ones', () => {
    const s = snapshot();
    for (const e of [
      { type: 'notice', data: { level: 'info', message: 'x' } },
      { type: 'dial', data: '+74951234567' },
      { type: 'history_changed' },
      { type: 'something_new', data: 1 },
    ] as UiEvent[]) {
      expect(applyEvent(s, e)).toBe(s);
    }
  });

  it('replaces the team view', () => {
    const team = { extensions: ['34414'], park: park([parked()]), calls: [], refreshed_ms: T0, error: null };
    expect(applyEvent(snapshot(), { type: 'team', data: team }).team).toEqual(team);
  });

  it('applies settings', () => {
    const s = snapshot();
    const settings = { ...s.settings, ui: { ...s.settings.ui, language: 'ru' } };
    expect(applyEvent(s, { type: 'settings', data: settings }).settings.ui.language).toBe('ru');
  });

  it('applies buffered events in order', () => {
    const s = applyAll(snapshot(), [
      { type: 'call', data: call({ key: 'a' }) },
      { type: 'call', data: call({ key: 'a', phase: 'active', answered_ms: T0 + 3000 }) },
      { type: 'call_removed', data: 'a' },
      { type: 'call', data: call({ key: 'b' }) },
    ]);
    expect(s.calls.map((c) => c.key)).toEqual(['b']);
  });
});
