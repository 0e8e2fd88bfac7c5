import { cleanup, fireEvent, render, screen } from '@testing-library/svelte';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { ALL_CAPS, call, ivr, park, parked, T0 } from '../test/fixtures';

const api = {
  decideIvr: vi.fn(),
  claimCallback: vi.fn(),
  callbackOutcome: vi.fn(),
  callAction: vi.fn(),
  bridgeSlot: vi.fn(),
  dial: vi.fn(),
  ivrCommand: vi.fn(),
  retryConnection: vi.fn(),
};
class CommandError extends Error {
  constructor(
    public code: string,
    message: string,
  ) {
    super(message);
  }
}
vi.mock('../lib/ipc', () => ({
  api,
  CommandError,
  errorMessage: (e: unknown) => (e instanceof Error ? e.message : String(e)),
  copyText: vi.fn(async () => true),
  onEvent: vi.fn(),
}));

const { lang } = await import('../lib/i18n');
const { panel } = await import('../lib/state.svelte');
const CallCard = (await import('./CallCard.svelte')).default;
const ParkSlot = (await import('./ParkSlot.svelte')).default;
const DialBox = (await import('./DialBox.svelte')).default;
const IvrCard = (await import('./IvrCard.svelte')).default;
const ConnectionsBar = (await import('./ConnectionsBar.svelte')).default;
const DecisionCard = (await import('./DecisionCard.svelte')).default;
const CallbackList = (await import('./CallbackList.svelte')).default;

beforeEach(() => {
  lang.set('en');
  for (const f of Object.values(api)) f.mockReset().mockResolvedValue(undefined);
});
afterEach(() => cleanup());

describe('CallCard', () => {
  const props = (c = call()) => ({ call: c, caps: ALL_CAPS, extension: '101', now: T0 + 4_000, park: park() });

  it('shows the caller, the ring timer and Answer / Hang up', () => {
    render(CallCard, props());
    expect(screen.getByText('Иван Петров')).toBeTruthy();
    expect(screen.getByText('+7 916 123-45-67')).toBeTruthy();
    expect(screen.getByTestId('call-timer').textContent?.trim()).toBe('0:04');
    expect(screen.getByRole('button', { name: 'Answer' })).toBeTruthy();
    expect(screen.getByRole('button', { name: 'Hang up' })).toBeTruthy();
    expect(screen.queryByRole('button', { name: 'Park' })).toBeNull();
  });

  it('answers through the engine', async () => {
    render(CallCard, props());
    await fireEvent.click(screen.getByRole('button', { name: 'Answer' }));
    expect(api.callAction).toHaveBeenCalledWith('telphin:abc', { type: 'answer' });
  });

  it('parks to a chosen slot', async () => {
    render(CallCard, props(call({ phase: 'active', answered_ms: T0 })));
    await fireEvent.click(screen.getByRole('button', { name: 'Park' }));
    const select = screen.getByLabelText('Parking slot') as HTMLSelectElement;
    await fireEvent.change(select, { target: { value: '6' } });
    await fireEvent.click(screen.getByTestId('park-confirm'));
    expect(api.callAction).toHaveBeenCalledWith('telphin:abc', { type: 'park', slot: 6 });
  });

  it('shows the platform refusal as a clear error', async () => {
    api.callAction.mockRejectedValue(new CommandError('slot_occupied', 'slot 6 is occupied'));
    render(CallCard, props(call({ phase: 'active', answered_ms: T0 })));
    await fireEvent.click(screen.getByRole('button', { name: 'Hold' }));
    const err = await screen.findByTestId('call-error');
    expect(err.textContent).toContain('slot 6 is occupied');
  });

  it('transfers to a typed number and remembers it', async () => {
    localStorage.clear();
    render(CallCard, props(call({ phase: 'active', answered_ms: T0 })));
    await fireEvent.click(screen.getByRole('button', { name: 'Transfer' }));
    await fireEvent.input(screen.getByLabelText('Transfer to number'), { target: { value: '+7 (916) 000-11-22' } });
    await fireEvent.click(screen.getByRole('button', { name: 'Consult first' }));
    expect(api.callAction).toHaveBeenCalledWith('telphin:abc', { type: 'transfer', to: '+79160001122', attended: true });
    expect(panel.recent[0]).toBe('+79160001122');
  });

  it('offers no actions on a webhook-only call', () => {
    render(CallCard, props(call({ refs: [{ source: 'webhook', call_id: 'w' }], phase: 'active' })));
    expect(screen.queryAllByRole('button')).toHaveLength(0);
    expect(screen.getByText(/View only/)).toBeTruthy();
  });

  it('marks a call that came back from parking', () => {
    render(CallCard, props(call({ phase: 'active', returned_from_park: true })));
    expect(screen.getByTestId('returned-from-park')).toBeTruthy();
  });
});

describe('ParkSlot', () => {
  it('shows the parked caller, the countdown and bridges from the grid', async () => {
    const p = parked({ slot: 6 });
    render(ParkSlot, {
      slot: 6,
      parked: p,
      call: call({ phase: 'parked', parked_slot: 6 }),
      park: park([p]),
      now: T0 + 60_000,
      warnSecs: 30,
      extension: '101',
    });
    expect(screen.getByTestId('park-caller').textContent).toContain('Иван Петров');
    expect(screen.getByTestId('park-countdown').textContent?.trim()).toBe('2:00');
    await fireEvent.click(screen.getByTestId('park-bridge'));
    expect(api.bridgeSlot).toHaveBeenCalledWith('34414', 6);
  });

  it('warns before the return', () => {
    const p = parked({ slot: 2 });
    const { container } = render(ParkSlot, { slot: 2, parked: p, park: park([p]), now: T0 + 160_000, warnSecs: 30 });
    expect(container.querySelector('.slot.warning')).not.toBeNull();
    expect(screen.getByText('Returns soon!')).toBeTruthy();
  });

  it('parks my live call into a free slot', async () => {
    render(ParkSlot, { slot: 4, parked: null, park: park(), now: T0, warnSecs: 30, parkable: call({ key: 'mine', phase: 'active' }) });
    await fireEvent.click(screen.getByRole('button', { name: 'Park my current call in slot 4' }));
    expect(api.callAction).toHaveBeenCalledWith('mine', { type: 'park', slot: 4 });
  });
});

describe('DialBox', () => {
  it('is pre-filled and focused by a tel: link, and dials only when asked', async () => {
    render(DialBox, {});
    panel.requestDial('+74951234567');
    const input = (await screen.findByTestId('dial-input')) as HTMLInputElement;
    await vi.waitFor(() => expect(input.value).toBe('+74951234567'));
    await vi.waitFor(() => expect(document.activeElement).toBe(input));
    expect(screen.getByTestId('dial-from-link')).toBeTruthy();
    expect(api.dial).not.toHaveBeenCalled();
    await fireEvent.click(screen.getByTestId('dial-button'));
    expect(api.dial).toHaveBeenCalledWith('+74951234567');
  });

  it('only takes the focus for the global dial shortcut (an empty number)', async () => {
    render(DialBox, {});
    const input = screen.getByTestId('dial-input') as HTMLInputElement;
    await fireEvent.input(input, { target: { value: '101' } });
    panel.requestDial('');
    await vi.waitFor(() => expect(document.activeElement).toBe(input));
    expect(input.value).toBe('101');
    expect(screen.queryByTestId('dial-from-link')).toBeNull();
  });

  it('refuses text that is not a number', async () => {
    render(DialBox, {});
    await fireEvent.input(screen.getByTestId('dial-input'), { target: { value: 'hello' } });
    await fireEvent.click(screen.getByTestId('dial-button'));
    expect(api.dial).not.toHaveBeenCalled();
    expect(screen.getByRole('alert').textContent).toContain('Enter a phone number');
  });
});

describe('IvrCard', () => {
  it('takes control of an offered session', async () => {
    render(IvrCard, { session: ivr(), now: T0 });
    await fireEvent.click(screen.getByTestId('ivr-take'));
    expect(api.ivrCommand).toHaveBeenCalledWith('k1', { type: 'take' });
  });

  it('plays a file, shows the live DTMF and releases', async () => {
    render(IvrCard, { session: ivr({ state: 'controlled', dtmf: '12#' }), now: T0 });
    expect(screen.getByTestId('ivr-dtmf').textContent).toContain('1 2 #');
    await fireEvent.click(screen.getByTestId('ivr-play'));
    expect(api.ivrCommand).toHaveBeenCalledWith('k1', { type: 'apply', component: { type: 'play', file: ':GS_PUB/demo/hello.wav' } });
    await fireEvent.click(screen.getByTestId('ivr-release'));
    expect(api.ivrCommand).toHaveBeenCalledWith('k1', { type: 'release' });
  });

  it('asks for a link to a recorded file', async () => {
    const session = ivr({
      state: 'controlled',
      results: [{ transfer_key: 'transfer', results: { recordFile: ':TEMP/ivr_records/a.wav', dtmfBuffer: '' }, file_link: null }],
    });
    render(IvrCard, { session, now: T0 });
    await fireEvent.click(screen.getByRole('button', { name: 'Get recording link' }));
    expect(api.ivrCommand).toHaveBeenCalledWith('k1', { type: 'file_link', file: ':TEMP/ivr_records/a.wav' });
  });
});

describe('ConnectionsBar', () => {
  it('shows the reconnect countdown and retries on request', async () => {
    render(ConnectionsBar, {
      connections: [
        { platform: 'era', state: { state: 'backing_off', attempt: 2, next_attempt_ms: 5_000, reason: 'refused' }, detail: 'ws://x/' },
        { platform: 'telphin', state: { state: 'failed', reason: 'bad secret' }, detail: '' },
        { platform: 'listener', state: { state: 'connected', since_ms: 0 }, detail: 'http://127.0.0.1:9000' },
      ],
      now: 1_000,
    });
    expect(screen.getByTestId('conn-era').textContent).toContain('reconnecting in 4 s');
    expect(screen.getByTestId('conn-telphin').textContent).toContain('bad secret');
    expect(screen.getByTestId('conn-listener').textContent).toContain('127.0.0.1:9000');
    await fireEvent.click(screen.getByRole('button', { name: 'Retry the Telphin connection' }));
    expect(api.retryConnection).toHaveBeenCalledWith('telphin');
  });
});

describe('DecisionCard', () => {
  const decision = {
    id: 42,
    received_ms: T0,
    deadline_ms: T0 + 8_000,
    rule_id: 'vip',
    rule_name: 'VIP callers',
    request: {
      event_type: 'call_interactive', call_id: 'c1', call_api_id: null, caller_id_num: '+79161234567', caller_id_name: null,
      called_did: '74951234567', called_extension: null, called_extension_id: null, call_status: 'ANSWER', call_flow: 'IN',
      caller_extension: null, caller_extension_id: null, called_number: null, variables: {},
    },
    fallback: [{ action: 'simple_transfer' as const, numbers: ['101'] }],
  };

  it('counts down to the deadline and tells what happens without a decision', () => {
    render(DecisionCard, { decision, now: T0 + 3_000 });
    expect(screen.getByText('0:05')).toBeTruthy();
    expect(screen.getByText('transfer to 101')).toBeTruthy();
    expect(screen.getByText('VIP callers')).toBeTruthy();
  });

  it('sends the fallback now, a hang-up or a quick transfer', async () => {
    render(DecisionCard, { decision, now: T0 });
    await fireEvent.click(screen.getByRole('button', { name: 'Send it now' }));
    expect(api.decideIvr).toHaveBeenLastCalledWith(42, decision.fallback);
    await fireEvent.click(screen.getByRole('button', { name: 'Hang up' }));
    expect(api.decideIvr).toHaveBeenLastCalledWith(42, [{ action: 'hangup' }]);
    await fireEvent.input(screen.getByLabelText('Number to transfer to'), { target: { value: '102' } });
    await fireEvent.click(screen.getByRole('button', { name: 'Transfer' }));
    expect(api.decideIvr).toHaveBeenLastCalledWith(42, [{ action: 'simple_transfer', numbers: ['102'] }]);
  });
});

describe('CallbackList', () => {
  const item = {
    number: '+79165550001', key: '79165550001', name: null, last_missed_ms: T0, missed_count: 2, last_call_id: 7,
    claimed_by: null, claimed_ms: null, outcome: null, closed: null,
  };

  it('claims an open number and closes a claimed one with an outcome', async () => {
    const { snapshot } = await import('../test/fixtures');
    panel.snap = snapshot();
    panel.callbacks = [item];
    const { rerender } = render(CallbackList, { onselect: () => {} });
    await fireEvent.click(screen.getByTestId('callback-claim'));
    expect(api.claimCallback).toHaveBeenCalledWith('79165550001');

    panel.callbacks = [{ ...item, claimed_by: '101', claimed_ms: T0 }];
    await rerender({ onselect: () => {} });
    expect(screen.getByTestId('callback-state').textContent).toContain('claimed by 101');
    await fireEvent.input(screen.getByTestId('callback-outcome'), { target: { value: 'Order placed' } });
    await fireEvent.click(screen.getByTestId('callback-outcome-save'));
    expect(api.callbackOutcome).toHaveBeenCalledWith('79165550001', 'Order placed');
  });
});
