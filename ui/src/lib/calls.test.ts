import { describe, expect, it } from 'vitest';
import { ALL_CAPS, call, T0 } from '../test/fixtures';
import { answeredBy, callTimer, cardActions, controllable, isMine, remoteParty, supports } from './calls';

const agent = { mine: true, role: 'agent' as const };

describe('whose call', () => {
  it('is mine when it rings me, I answered it or I made it', () => {
    expect(isMine(call(), '101')).toBe(true);
    expect(isMine(call({ to: { number: '200' }, legs: [{ leg_id: '101', party: { number: '101' }, state: 'ringing', result: null }] }), '101')).toBe(true);
    expect(isMine(call({ direction: 'outbound', from: { number: '101' }, to: { number: '+74956407080' }, legs: [] }), '101')).toBe(true);
    expect(isMine(call({ to: { number: '200' }, answered_by: { number: '101' } }), '101')).toBe(true);
  });

  it('is mine when my leg answered, even if the platform names the lot extension as answering', () => {
    const c = call({
      to: { number: '200', extension_id: '34414' },
      phase: 'active',
      answered_by: { number: '200', extension_id: '34414' },
      legs: [
        { leg_id: 'a', party: { number: '200', extension_id: '34414' }, state: 'answered', result: null },
        { leg_id: 'b', party: { number: '101' }, state: 'answered', result: null },
        { leg_id: 'c', party: { number: '102' }, state: 'ended', result: null },
      ],
    });
    expect(isMine(c, '101')).toBe(true);
    expect(answeredBy(c)).toBe('101');
  });

  it('is not mine when a colleague answered a queue call that rang me too', () => {
    const c = call({
      to: { number: '200' },
      phase: 'active',
      answered_by: { number: '200', extension_id: '34414' },
      legs: [
        { leg_id: 'b', party: { number: '101' }, state: 'ended', result: null },
        { leg_id: 'c', party: { number: '102' }, state: 'answered', result: null },
      ],
    });
    expect(isMine(c, '101')).toBe(false);
    expect(answeredBy(c)).toBe('102');
  });

  it('is not mine when a colleague answered or it never reached me', () => {
    expect(isMine(call({ to: { number: '200' }, answered_by: { number: '102' } }), '101')).toBe(false);
    expect(isMine(call({ to: { number: '201' }, legs: [{ leg_id: '104', party: { number: '104' }, state: 'ringing', result: null }] }), '101')).toBe(false);
  });

  it('treats every call as mine when the extension is unknown', () => {
    expect(isMine(call({ to: { number: '201' }, legs: [] }), null)).toBe(true);
  });

  it('finds the remote party by direction', () => {
    expect(remoteParty(call(), '101').number).toBe('+79161234567');
    expect(remoteParty(call({ direction: 'outbound', from: { number: '101' }, to: { number: '+7495' } }), '101').number).toBe('+7495');
    expect(remoteParty(call({ direction: 'internal', from: { number: '101' }, to: { number: '102' } }), '101').number).toBe('102');
    expect(remoteParty(call({ direction: 'internal', from: { number: '103' }, to: { number: '101' } }), '101').number).toBe('103');
  });
});

describe('card actions', () => {
  it('offers answer and hang up on a ringing incoming call', () => {
    expect(cardActions(call(), ALL_CAPS, agent)).toEqual(['answer', 'hangup']);
  });

  it('offers no answer when only Telphin knows the call (Telphin cannot answer)', () => {
    const c = call({ refs: [{ source: 'telphin', call_id: 'x' }] });
    expect(cardActions(c, ALL_CAPS, agent)).toEqual(['hangup']);
    expect(supports(c, ALL_CAPS, 'answer')).toBe(false);
  });

  it('offers nothing on a webhook-only call', () => {
    const c = call({ refs: [{ source: 'webhook', call_id: 'x' }], phase: 'active' });
    expect(controllable(c)).toBe(false);
    expect(cardActions(c, ALL_CAPS, agent)).toEqual([]);
  });

  it('offers the talk controls on an active call, limited by capabilities', () => {
    const c = call({ phase: 'active', answered_ms: T0 + 2000 });
    expect(cardActions(c, ALL_CAPS, agent)).toEqual([
      'hold',
      'transfer_blind',
      'transfer_attended',
      'conference',
      'dtmf',
      'park',
      'bridge',
      'hangup',
    ]);
    const noPark = { ...ALL_CAPS, park: false, dtmf: false };
    expect(cardActions(c, noPark, agent)).toEqual(['hold', 'transfer_blind', 'transfer_attended', 'conference', 'hangup']);
  });

  it('parks only through Telphin', () => {
    const eraOnly = call({ phase: 'active', refs: [{ source: 'era', call_id: 'e' }] });
    expect(cardActions(eraOnly, ALL_CAPS, agent)).not.toContain('park');
  });

  it('offers resume on a held call and nothing on ended or parked calls', () => {
    expect(cardActions(call({ phase: 'held' }), ALL_CAPS, agent)[0]).toBe('resume');
    expect(cardActions(call({ phase: 'ended' }), ALL_CAPS, agent)).toEqual([]);
    expect(cardActions(call({ phase: 'parked' }), ALL_CAPS, agent)).toEqual([]);
  });

  it('offers pickup on a colleague ringing call; listening only to supervisors', () => {
    expect(cardActions(call(), ALL_CAPS, { mine: false, role: 'agent' })).toEqual(['pickup']);
    const active = call({ phase: 'active' });
    expect(cardActions(active, ALL_CAPS, { mine: false, role: 'agent' })).toEqual([]);
    expect(cardActions(active, ALL_CAPS, { mine: false, role: 'supervisor' })).toEqual(['eavesdrop', 'whisper']);
  });
});

describe('call timers', () => {
  it('shows ring time, then talk time, then the total', () => {
    expect(callTimer(call(), T0 + 7_000)).toEqual({ kind: 'ring', ms: 7_000 });
    expect(callTimer(call({ phase: 'active', answered_ms: T0 + 5_000 }), T0 + 65_000)).toEqual({ kind: 'talk', ms: 60_000 });
    expect(callTimer(call({ phase: 'held', answered_ms: T0 }), T0 + 1_000).kind).toBe('hold');
    expect(callTimer(call({ phase: 'parked', parked_ms: T0 + 10_000 }), T0 + 40_000)).toEqual({ kind: 'parked', ms: 30_000 });
    expect(callTimer(call({ phase: 'ended', answered_ms: T0 + 5_000, ended_ms: T0 + 50_000 }), T0 + 99_000)).toEqual({ kind: 'ended', ms: 45_000 });
    expect(callTimer(call({ phase: 'ended', ended_ms: T0 + 8_000 }), T0 + 99_000)).toEqual({ kind: 'ended', ms: 8_000 });
  });
});

describe('display names', async () => {
  const { displayName } = await import('./calls');
  it('hides a name that only repeats the number', () => {
    expect(displayName({ number: '+79045553311', name: '+79045553311' })).toBe('');
    expect(displayName({ number: '+79045553311', name: '7 (904) 555-33-11' })).toBe('');
    expect(displayName({ number: '+79045553311', name: 'Иван' })).toBe('Иван');
    expect(displayName({ number: '101', name: null })).toBe('');
    expect(displayName(null)).toBe('');
  });
});
