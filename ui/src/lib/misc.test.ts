import { describe, expect, it } from 'vitest';
import { get } from 'svelte/store';
import { connectionText, connectionTone } from './connections';
import { filtersActive, searchProblem, toCallFilter, EMPTY_FILTERS } from './history';
import { catalogues, lang, t } from './i18n';
import { describeAction, describeActions, describeComponent, recordedFile, resultPairs, spacedDigits } from './ivr';
import { joinList, move, newAction, newCondition, newRule, newTest, optionalNumber, splitList } from './rules';
import { RECENT_MAX, recentNumbers, rememberNumber } from './storage';

lang.set('en');
const tr = get(t);

describe('connections', () => {
  it('reads each state', () => {
    expect(connectionTone({ state: 'connected', since_ms: 0 })).toBe('ok');
    expect(connectionTone({ state: 'failed', reason: 'x' })).toBe('bad');
    expect(connectionTone({ state: 'disabled' })).toBe('idle');
    expect(connectionText({ state: 'backing_off', attempt: 2, next_attempt_ms: 5_000, reason: 'x' }, 1_200, tr)).toBe('reconnecting in 4 s');
    expect(connectionText({ state: 'connecting', attempt: 3 }, 0, tr)).toBe('connecting, attempt 3…');
    expect(connectionText({ state: 'connecting', attempt: 1 }, 0, tr)).toBe('connecting…');
  });
});

describe('history filters', () => {
  it('needs 3+ characters per search word', () => {
    expect(searchProblem('')).toBeNull();
    expect(searchProblem('Ив')).toBe('short');
    expect(searchProblem('Иван Пе')).toBe('short');
    expect(searchProblem('Иван Петров')).toBeNull();
    expect(searchProblem('+7 9')).toBe('short');
    expect(searchProblem('+7 (916) 555')).toBeNull();
  });

  it('translates to the engine filter', () => {
    const f = toCallFilter({ ...EMPTY_FILTERS, text: ' 79165550001 ', direction: 'inbound', outcome: 'missed', from: '2026-01-05', missedOnly: true });
    expect(f.text).toBe('79165550001');
    expect(f.direction).toBe('inbound');
    expect(f.outcomes).toEqual(['missed']);
    expect(f.missed_only).toBe(true);
    expect(f.from_ms).toBe(new Date(2026, 0, 5).getTime());
    expect(f.to_ms).toBeNull();
    expect(toCallFilter({ ...EMPTY_FILTERS, text: 'ab' }).text).toBeNull();
    expect(filtersActive(EMPTY_FILTERS)).toBe(false);
    expect(filtersActive({ ...EMPTY_FILTERS, missedOnly: true })).toBe(true);
  });
});

describe('IVR texts', () => {
  it('describes Call Interactive replies', () => {
    expect(describeAction({ action: 'simple_transfer', numbers: ['101', '102'] }, tr)).toBe('transfer to 101, 102');
    expect(describeAction({ action: 'play_sound', file: 'hello.wav' }, tr)).toBe('play hello.wav');
    expect(describeAction({ action: 'pause' }, tr)).toBe('pause 1 s');
    expect(describeActions([], tr)).toBe('the IVR goes on as set up');
    expect(describeActions([{ action: 'hangup' }, { action: 'jump', context: 'menu', option: '2' }], tr)).toBe('hang up; go to menu/2');
  });

  it('describes running components', () => {
    expect(describeComponent({ type: 'play', file: ':GS_PUB/a.wav' }, tr)).toBe('playing :GS_PUB/a.wav');
    expect(describeComponent({ type: 'record', seconds: 10, abort_on_silence: false }, tr)).toBe('recording, up to 10 s');
    expect(describeComponent({ type: 'record', seconds: 30, max_symbols: 4, abort_on_silence: false }, tr)).toBe('collecting up to 4 digits');
  });

  it('lists component results and finds the recorded file', () => {
    const r = { recordFile: ':TEMP/ivr_records/a.wav', dtmfBuffer: '12#', recordDurationSec: 3 };
    expect(resultPairs(r)).toEqual([
      ['dtmfBuffer', '12#'],
      ['recordDurationSec', '3'],
      ['recordFile', ':TEMP/ivr_records/a.wav'],
    ]);
    expect(recordedFile(r)).toBe(':TEMP/ivr_records/a.wav');
    expect(recordedFile({ dtmfBuffer: '1' })).toBeNull();
    expect(resultPairs(null)).toEqual([]);
    expect(spacedDigits('12#')).toBe('1 2 #');
  });
});

describe('rules editor helpers', () => {
  it('creates sensible defaults', () => {
    expect(newCondition('weekday')).toEqual({ field: 'weekday', days: ['mon', 'tue', 'wed', 'thu', 'fri'] });
    expect(newCondition('caller_number')).toEqual({ field: 'caller_number', test: { op: 'prefix', value: '' } });
    expect(newAction('hangup')).toEqual({ action: 'hangup' });
    expect(newRule([{ ...newRule([]), id: 'rule-1' }]).id).toBe('rule-2');
  });

  it('keeps the value when the test changes', () => {
    expect(newTest('one_of', { op: 'equals', value: '101, 102' })).toEqual({ op: 'one_of', value: ['101', '102'] });
    expect(newTest('equals', { op: 'one_of', value: ['101', '102'] })).toEqual({ op: 'equals', value: '101, 102' });
    expect(newTest('present', { op: 'equals', value: 'x' })).toEqual({ op: 'present' });
  });

  it('splits and joins lists, moves items, parses optional numbers', () => {
    expect(splitList(' 101, 102 ;103\n')).toEqual(['101', '102', '103']);
    expect(joinList(['a', 'b'])).toBe('a, b');
    expect(move([1, 2, 3], 0, 1)).toEqual([2, 1, 3]);
    const same = [1, 2];
    expect(move(same, 0, -1)).toBe(same);
    expect(optionalNumber('')).toBeNull();
    expect(optionalNumber('15')).toBe(15);
  });
});

describe('recent numbers', () => {
  it('keeps the newest first, without duplicates, up to a limit', () => {
    localStorage.clear();
    rememberNumber('101');
    rememberNumber('102');
    rememberNumber('101');
    expect(recentNumbers()).toEqual(['101', '102']);
    for (let i = 0; i < 20; i++) rememberNumber(String(200 + i));
    expect(recentNumbers()).toHaveLength(RECENT_MAX);
    expect(recentNumbers()[0]).toBe('219');
  });
});

describe('catalogue', () => {
  it('has a translation for every dynamic key family the views use', () => {
    const keys = Object.keys(catalogues.en);
    for (const family of ['action.', 'direction.', 'outcome.', 'phase.', 'source.', 'route.', 'op.', 'cond.', 'act.kind.', 'weekday.']) {
      expect(keys.some((k) => k.startsWith(family)), family).toBe(true);
    }
    for (const a of ['answer', 'hangup', 'hold', 'resume', 'transfer_blind', 'transfer_attended', 'conference', 'dtmf', 'park', 'bridge', 'pickup', 'eavesdrop', 'whisper']) {
      expect(keys).toContain(`action.${a}`);
    }
  });
});

describe('team board', async () => {
  const { isRinging, parkedTeamCall, parseGmt, teamActions, teamExtension } = await import('./team');
  const base = {
    call_api_id: '3232240001-aaaa-bbbb',
    call_id: null,
    callback_id: null,
    extension_id: '34415',
    call_flow: 'in',
    called_number: '102',
    called_did: null,
    caller_id_number: '+79161234567',
    caller_id_name: null,
    caller_extension: null,
    called_extension: { id: '34415', name: '0001*102@sip.example' },
    init_time_gmt: '2026-11-21 21:12:31',
    answer_time_gmt: null,
    real_call: true,
    record_uuid: null,
  };

  it('reads Telphin times as GMT', () => {
    expect(parseGmt('2026-11-21 21:12:31')).toBe(Date.UTC(2026, 10, 21, 21, 12, 31));
    expect(parseGmt(null)).toBeNull();
    expect(parseGmt('yesterday')).toBeNull();
  });

  it('offers pickup while ringing and joining once answered', () => {
    expect(isRinging(base)).toBe(true);
    expect(teamActions(base)).toEqual(['pickup']);
    expect(teamActions({ ...base, answer_time_gmt: '2026-11-21 21:12:40' })).toEqual(['eavesdrop', 'whisper', 'conference']);
  });

  it('names the extension and finds a parked call by its uuid', () => {
    expect(teamExtension(base)).toBe('102');
    expect(teamExtension({ ...base, called_extension: null })).toBe('34415');
    const p = { extension_id: '34415', slot: 2, call_uuid: 'aaaa-bbbb' };
    expect(parkedTeamCall(p, [base])?.call_api_id).toBe(base.call_api_id);
    expect(parkedTeamCall({ ...p, call_uuid: 'zzz' }, [base])).toBeNull();
  });
});

describe('views by role', async () => {
  const { tabsFor } = await import('./state.svelte');
  it('shows the team board to supervisors only', () => {
    expect(tabsFor('agent')).not.toContain('team');
    expect(tabsFor('supervisor')).toContain('team');
  });
});

describe('callback list', async () => {
  const { callbackState, openCount, sortCallbacks } = await import('./callbacks');
  const item = (over = {}) => ({
    number: '+79165550001', key: '79165550001', name: null, last_missed_ms: 10, missed_count: 1, last_call_id: 7,
    claimed_by: null, claimed_ms: null, outcome: null, closed: null, ...over,
  });
  it('tells open, mine, someone else\'s and closed items apart', () => {
    expect(callbackState(item(), '101')).toBe('open');
    expect(callbackState(item({ claimed_by: '101' }), '101')).toBe('claimed_by_me');
    expect(callbackState(item({ claimed_by: '102' }), '101')).toBe('claimed');
    expect(callbackState(item({ claimed_by: '101', closed: 'done' }), '101')).toBe('closed');
  });
  it('shows open items first, newest miss first, and counts them', () => {
    const list = [item({ key: 'a', last_missed_ms: 1 }), item({ key: 'b', closed: 'got_through', last_missed_ms: 9 }), item({ key: 'c', last_missed_ms: 5 })];
    expect(sortCallbacks(list).map((x) => x.key)).toEqual(['c', 'a', 'b']);
    expect(openCount(list)).toBe(2);
    expect(openCount(null)).toBe(0);
  });
});
