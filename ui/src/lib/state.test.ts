import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { UiEvent } from '../bindings/UiEvent';
import { call, snapshot } from '../test/fixtures';

let handler: ((e: UiEvent) => void) | null = null;
const api = {
  snapshot: vi.fn(),
  takePendingDial: vi.fn(),
  callbacks: vi.fn(),
  paintAckEnabled: vi.fn(),
  reportPainted: vi.fn(),
};

vi.mock('./ipc', () => ({
  api,
  onEvent: vi.fn(async (h: (e: UiEvent) => void) => {
    handler = h;
    return () => (handler = null);
  }),
  errorMessage: (e: unknown) => String(e),
}));

const { Panel, resolveTheme, HISTORY_THROTTLE_MS, TOAST_MS } = await import('./state.svelte');

describe('Panel store', () => {
  beforeEach(() => {
    vi.useFakeTimers();
    sessionStorage.clear();
    api.snapshot.mockReset();
    api.takePendingDial.mockReset().mockResolvedValue(null);
    api.callbacks.mockReset().mockResolvedValue([]);
    api.paintAckEnabled.mockReset().mockResolvedValue(false);
    api.reportPainted.mockReset().mockResolvedValue(undefined);
  });
  afterEach(() => vi.useRealTimers());

  it('applies events received while the snapshot was loading, in order', async () => {
    let resolve!: (s: unknown) => void;
    api.snapshot.mockReturnValue(new Promise((r) => (resolve = r)));
    const p = new Panel();
    const started = p.start();
    await vi.waitFor(() => expect(handler).not.toBeNull());
    handler!({ type: 'call', data: call({ key: 'late' }) });
    handler!({ type: 'missed', data: 2 });
    resolve(snapshot({ calls: [call({ key: 'early' })] }));
    await started;
    expect(p.snap!.calls.map((c) => c.key)).toEqual(['early', 'late']);
    expect(p.snap!.missed).toBe(2);
    handler!({ type: 'call_removed', data: 'early' });
    expect(p.snap!.calls.map((c) => c.key)).toEqual(['late']);
    p.stop();
  });

  it('reports a failed load and can start again', async () => {
    api.snapshot.mockRejectedValueOnce('engine down').mockResolvedValueOnce(snapshot());
    const p = new Panel();
    await p.start();
    expect(p.snap).toBeNull();
    expect(p.loadError).toBe('engine down');
    await p.start();
    expect(p.snap).not.toBeNull();
    expect(p.loadError).toBeNull();
    p.stop();
  });

  it('turns a dial event (or a pending tel: link) into a dial request on the Calls view', async () => {
    api.snapshot.mockResolvedValue(snapshot());
    api.takePendingDial.mockResolvedValue('+74951234567');
    const p = new Panel();
    p.setTab('history');
    await p.start();
    expect(p.dial).toEqual({ number: '+74951234567', seq: 1 });
    expect(p.tab).toBe('calls');
    handler!({ type: 'dial', data: '+74951234567' });
    expect(p.dial!.seq).toBe(2);
    p.stop();
  });

  it('turns the paint acknowledgement on when the shell asks for it', async () => {
    const { cardRendered, enablePaintAck } = await import('./paint');
    vi.stubGlobal('requestAnimationFrame', (f: FrameRequestCallback) => setTimeout(() => f(0), 16));
    try {
      for (const on of [false, true]) {
        api.paintAckEnabled.mockResolvedValue(on);
        api.snapshot.mockResolvedValue(snapshot());
        const p = new Panel();
        await p.start();
        cardRendered(call({ key: `era:${on}` }), '+79161234567');
        await vi.advanceTimersByTimeAsync(50);
        p.stop();
      }
      expect(api.reportPainted).toHaveBeenCalledExactlyOnceWith(
        'era:true',
        '+79161234567',
        expect.any(Array),
        expect.any(Number),
        expect.any(Number),
      );
    } finally {
      enablePaintAck(null);
      vi.unstubAllGlobals();
    }
  });

  it('throttles history refreshes', async () => {
    api.snapshot.mockResolvedValue(snapshot());
    const p = new Panel();
    await p.start();
    for (let i = 0; i < 10; i++) handler!({ type: 'history_changed' });
    expect(p.historyVersion).toBe(0);
    vi.advanceTimersByTime(0);
    expect(p.historyVersion).toBe(1);
    handler!({ type: 'history_changed' });
    handler!({ type: 'history_changed' });
    vi.advanceTimersByTime(HISTORY_THROTTLE_MS - 1);
    expect(p.historyVersion).toBe(1);
    vi.advanceTimersByTime(1);
    expect(p.historyVersion).toBe(2);
    p.stop();
  });

  it('shows notices as toasts that go away by themselves', async () => {
    api.snapshot.mockResolvedValue(snapshot());
    const p = new Panel();
    await p.start();
    handler!({ type: 'notice', data: { level: 'error', message: 'Telphin refused' } });
    expect(p.toasts.map((x) => [x.level, x.message])).toEqual([['error', 'Telphin refused']]);
    vi.advanceTimersByTime(TOAST_MS);
    expect(p.toasts).toEqual([]);
    p.stop();
  });

  it('loads the callback list and keeps it current from events', async () => {
    const item = { number: '+79165550001', key: '79165550001', name: null, last_missed_ms: 1, missed_count: 1, last_call_id: 7, claimed_by: null, claimed_ms: null, outcome: null, closed: null };
    api.snapshot.mockResolvedValue(snapshot());
    api.callbacks.mockResolvedValue([item]);
    const p = new Panel();
    await p.start();
    expect(p.callbacks).toEqual([item]);
    handler!({ type: 'callbacks', data: [{ ...item, claimed_by: '101' }] });
    expect(p.callbacks![0].claimed_by).toBe('101');
    p.stop();
  });

  it('re-reads the state after the machine slept or the network came back', async () => {
    api.snapshot.mockResolvedValue(snapshot());
    const p = new Panel();
    await p.start();
    expect(api.snapshot).toHaveBeenCalledTimes(1);
    vi.setSystemTime(Date.now() + 60_000); // a suspend: the clock jumps between two ticks
    vi.advanceTimersByTime(500);
    await vi.waitFor(() => expect(api.snapshot).toHaveBeenCalledTimes(2));
    window.dispatchEvent(new Event('online'));
    await vi.waitFor(() => expect(api.snapshot).toHaveBeenCalledTimes(3));
    p.stop();
  });

  it('ticks the clock for timers', async () => {
    api.snapshot.mockResolvedValue(snapshot());
    const p = new Panel();
    await p.start();
    const before = p.now;
    vi.advanceTimersByTime(1000);
    expect(p.now).toBeGreaterThanOrEqual(before + 1000);
    p.stop();
  });

  it('applies the language and theme of the settings', async () => {
    const s = snapshot();
    s.settings.ui.theme = 'dark';
    api.snapshot.mockResolvedValue(s);
    const p = new Panel();
    await p.start();
    expect(document.documentElement.dataset.theme).toBe('dark');
    p.stop();
  });

  it('remembers the active tab for a reload', () => {
    const p = new Panel();
    p.setTab('parking');
    expect(new Panel().tab).toBe('parking');
  });

  it('resolves the theme', () => {
    expect(resolveTheme('system', true)).toBe('dark');
    expect(resolveTheme('system', false)).toBe('light');
    expect(resolveTheme('light', true)).toBe('light');
    expect(resolveTheme('dark', false)).toBe('dark');
  });
});
