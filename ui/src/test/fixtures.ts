// Test data shaped like what the engine sends (see the demo simulator's events).
import type { CallView } from '../bindings/CallView';
import type { Capabilities } from '../bindings/Capabilities';
import type { IvrSessionView } from '../bindings/IvrSessionView';
import type { ParkBoardSnapshot } from '../bindings/ParkBoardSnapshot';
import type { ParkedCall } from '../bindings/ParkedCall';
import type { Snapshot } from '../bindings/Snapshot';

export const T0 = 1_795_293_946_000;

export const ALL_CAPS: Capabilities = {
  dial: true,
  answer: true,
  hangup: true,
  hold: true,
  transfer_blind: true,
  transfer_attended: true,
  conference: true,
  dtmf: true,
  park: true,
  ivr_control: true,
  recordings: true,
  eavesdrop: true,
  whisper: true,
  pickup: true,
};

export function call(over: Partial<CallView> = {}): CallView {
  return {
    key: 'telphin:abc',
    refs: [
      { source: 'telphin', call_id: '3232240001-bb93' },
      { source: 'era', call_id: 'era-1' },
      { source: 'webhook', call_id: 'wh-1' },
    ],
    direction: 'inbound',
    from: { number: '+79161234567', name: 'Иван Петров' },
    to: { number: '101' },
    did: '74957397100',
    via: null,
    phase: 'ringing',
    created_ms: T0,
    answered_ms: null,
    ended_ms: null,
    answered_by: null,
    result: null,
    parked_slot: null,
    parked_by: null,
    parked_ms: null,
    returned_from_park: false,
    dtmf: '',
    legs: [{ leg_id: '101', party: { number: '101' }, state: 'ringing', result: null }],
    recording: null,
    ...over,
  };
}

export function parked(over: Partial<ParkedCall> = {}): ParkedCall {
  return {
    extension_id: '34414',
    slot: 6,
    call_api_id: '3232240001-bb93',
    parked_by: '101',
    parked_at_ms: T0,
    returns_at_ms: T0 + 180_000,
    returns_in_secs: 180,
    ...over,
  };
}

export function park(slots: ParkedCall[] = [], at_ms = T0): ParkBoardSnapshot {
  return { slots, at_ms, timeout_secs: 180 as unknown as bigint };
}

export function ivr(over: Partial<IvrSessionView> = {}): IvrSessionView {
  return {
    key: 'k1',
    offer: { key: 'k1', ivrid: 'rDlg-1', caller: '+79600001234', ivr_number: '800', component_name: 'External control', params: { lang: 'ru' }, at_ms: T0 },
    state: 'offered',
    dtmf: '',
    running: null,
    results: [],
    message: null,
    ...over,
  };
}

export function snapshot(over: Partial<Snapshot> = {}): Snapshot {
  return {
    info: { version: '0.1.0', demo: true, user_config: '/tmp/config.toml', provisioning_config: null },
    settings: {
      ui: {
        language: 'en',
        theme: 'light',
        role: 'agent',
        notifications: true,
        start_minimised: false,
        autostart: false,
        shortcut_answer: 'CommandOrControl+Alt+A',
        shortcut_hangup: 'CommandOrControl+Alt+H',
        shortcut_dial: 'CommandOrControl+Alt+D',
        park_warning_secs: 30,
      },
      locked: [],
      locked_by: null,
    },
    connections: [],
    calls: [],
    park: park(),
    ivr: [],
    decisions: [],
    capabilities: ALL_CAPS,
    listener_urls: null,
    missed: 0,
    extension: '101',
    team: null,
    ...over,
  } as Snapshot;
}
