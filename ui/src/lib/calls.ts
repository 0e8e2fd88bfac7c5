// What a call card shows and offers: whose call it is, its timer, and the actions the
// connected platforms allow for the sources that reported it. Pure functions, unit-tested.
import type { CallView } from '../bindings/CallView';
import type { Capabilities } from '../bindings/Capabilities';
import type { Party } from '../bindings/Party';
import type { Role } from '../bindings/Role';
import type { Source } from '../bindings/Source';

export type CallActionId =
  | 'answer'
  | 'hangup'
  | 'hold'
  | 'resume'
  | 'transfer_blind'
  | 'transfer_attended'
  | 'conference'
  | 'dtmf'
  | 'park'
  | 'bridge'
  | 'pickup'
  | 'eavesdrop'
  | 'whisper';

/** Which capability gates each action. */
const CAPABILITY: Record<CallActionId, keyof Capabilities> = {
  answer: 'answer',
  hangup: 'hangup',
  hold: 'hold',
  resume: 'hold',
  transfer_blind: 'transfer_blind',
  transfer_attended: 'transfer_attended',
  conference: 'conference',
  dtmf: 'dtmf',
  park: 'park',
  bridge: 'park',
  pickup: 'pickup',
  eavesdrop: 'eavesdrop',
  whisper: 'whisper',
};

/**
 * What each controllable source can do on a call it reported. `Capabilities` in the snapshot
 * is the union over the connected platforms; a card may only use the platforms that know the
 * call (Telphin cannot answer; parking is Telphin's valet service). Webhook-only and Call
 * Interactive-only calls have no control handle at all.
 */
const SOURCE_ACTIONS: Partial<Record<Source, CallActionId[]>> = {
  era: ['answer', 'hangup', 'hold', 'resume', 'transfer_blind', 'transfer_attended', 'conference', 'dtmf'],
  telphin: [
    'hangup',
    'hold',
    'resume',
    'transfer_blind',
    'transfer_attended',
    'conference',
    'park',
    'bridge',
    'pickup',
    'eavesdrop',
    'whisper',
  ],
};

/** The call can be acted on at all: some source that reported it has a control handle. */
export function controllable(call: CallView): boolean {
  return call.refs.some((r) => SOURCE_ACTIONS[r.source] !== undefined);
}

/** The action is possible for this call's sources and the connected platforms. */
export function supports(call: CallView, caps: Capabilities, action: CallActionId): boolean {
  return caps[CAPABILITY[action]] && call.refs.some((r) => SOURCE_ACTIONS[r.source]?.includes(action));
}

/**
 * Who answered, as a number: an answered leg of a person (platforms also report the lot or queue
 * extension, e.g. Telphin's own extension id, as "answered"), else the reported `answered_by`.
 */
export function answeredBy(call: CallView): string | null {
  const leg = call.legs.find((l) => l.state === 'answered' && !l.party.extension_id);
  return leg?.party.number ?? call.answered_by?.number ?? null;
}

/**
 * The agent's own call: made or answered by the agent's extension, or one that rang it and that
 * no colleague answered. Calls of colleagues are not.
 */
export function isMine(call: CallView, extension: string | null): boolean {
  if (!extension) return true;
  if (call.from.number === extension) return true;
  const myLegs = call.legs.filter((l) => l.party.number === extension);
  if (call.answered_by?.number === extension || myLegs.some((l) => l.state === 'answered')) return true;
  const colleague = call.legs.some((l) => l.state === 'answered' && !l.party.extension_id && l.party.number !== extension);
  if (colleague) return false;
  if (call.answered_by && !call.answered_by.extension_id) return false;
  return call.to.number === extension || myLegs.length > 0;
}

/** The other side of the call, as the agent sees it. */
export function remoteParty(call: CallView, extension: string | null): Party {
  switch (call.direction) {
    case 'inbound':
      return call.from;
    case 'outbound':
      return call.to;
    case 'internal':
      return extension && call.from.number === extension ? call.to : call.from;
  }
}

/** A party's name worth showing: not empty and not just its number again. */
export function displayName(p: Party | null | undefined): string {
  const name = p?.name?.trim() ?? '';
  if (!name) return '';
  const digits = (x: string) => x.replace(/\D/g, '');
  return /^[\d\s+()-]+$/.test(name) && digits(name) === digits(p?.number ?? '') ? '' : name;
}

/** The actions a card offers now, in display order. */
export function cardActions(
  call: CallView,
  caps: Capabilities,
  opts: { mine: boolean; role: Role },
): CallActionId[] {
  if (!controllable(call)) return [];
  let wanted: CallActionId[];
  if (!opts.mine) {
    wanted =
      call.phase === 'ringing'
        ? ['pickup']
        : call.phase === 'active' && opts.role === 'supervisor'
          ? ['eavesdrop', 'whisper']
          : [];
  } else {
    switch (call.phase) {
      case 'ringing':
        // Click-to-call rings the agent's own phone first: that leg can be answered too.
        wanted = call.direction === 'outbound' && call.answered_ms !== null ? ['hangup'] : ['answer', 'hangup'];
        break;
      case 'active':
        wanted = ['hold', 'transfer_blind', 'transfer_attended', 'conference', 'dtmf', 'park', 'bridge', 'hangup'];
        break;
      case 'held':
        wanted = ['resume', 'transfer_blind', 'transfer_attended', 'park', 'hangup'];
        break;
      default:
        wanted = [];
    }
  }
  return wanted.filter((a) => supports(call, caps, a));
}

export type TimerKind = 'ring' | 'talk' | 'hold' | 'parked' | 'ended';

/** Which timer a card shows and its value: ring time, talk time, time in the slot, or the total. */
export function callTimer(call: CallView, now: number): { kind: TimerKind; ms: number } {
  switch (call.phase) {
    case 'ringing':
      return { kind: 'ring', ms: now - call.created_ms };
    case 'active':
      return { kind: 'talk', ms: now - (call.answered_ms ?? call.created_ms) };
    case 'held':
      return { kind: 'hold', ms: now - (call.answered_ms ?? call.created_ms) };
    case 'parked':
      return { kind: 'parked', ms: now - (call.parked_ms ?? call.created_ms) };
    case 'ended': {
      const end = call.ended_ms ?? now;
      return { kind: 'ended', ms: call.answered_ms ? end - call.answered_ms : end - call.created_ms };
    }
  }
}

/** The sources that reported a call, for the small source tags on a card. */
export function sourcesOf(call: CallView): Source[] {
  return [...new Set(call.refs.map((r) => r.source))];
}
