// The panel's live state: the engine snapshot kept current by `UiEvent`s (through the pure
// reducer), a ticking clock for timers, toasts, dial requests and UI-only view state.
import type { CallbackItem } from '../bindings/CallbackItem';
import type { Role } from '../bindings/Role';
import type { SettingsView } from '../bindings/SettingsView';
import type { Snapshot } from '../bindings/Snapshot';
import type { UiEvent } from '../bindings/UiEvent';
import { lang, resolveLang } from './i18n';
import { api, errorMessage, onEvent } from './ipc';
import { enablePaintAck } from './paint';
import { applyAll, applyEvent } from './reducer';
import { loadJson, recentNumbers, rememberNumber, saveJson } from './storage';

export type Tab = 'calls' | 'team' | 'parking' | 'ivr' | 'history' | 'inspector' | 'settings';

const AGENT_TABS: Tab[] = ['calls', 'parking', 'ivr', 'history', 'inspector', 'settings'];
const SUPERVISOR_TABS: Tab[] = ['calls', 'team', 'parking', 'ivr', 'history', 'inspector', 'settings'];

/** The views a role sees, in navigation order: supervisors also get the team board. */
export function tabsFor(role: Role): Tab[] {
  return role === 'supervisor' ? SUPERVISOR_TABS : AGENT_TABS;
}

export type Toast = { id: number; level: 'info' | 'warning' | 'error'; message: string };

/** How long a toast stays, and the least time between two history refreshes. */
export const TOAST_MS = 6000;
export const HISTORY_THROTTLE_MS = 1500;
/** A clock jump this long between two ticks means the machine was asleep. */
export const SLEEP_GAP_MS = 10_000;

/** Decide the theme actually shown for a setting (`system` follows the OS). */
export function resolveTheme(setting: string, prefersDark: boolean): 'light' | 'dark' {
  if (setting === 'dark') return 'dark';
  if (setting === 'light') return 'light';
  return prefersDark ? 'dark' : 'light';
}

export class Panel {
  /** The engine's state; replaced (never mutated) on every event. */
  snap = $state.raw<Snapshot | null>(null);
  /** Wall clock for timers and countdowns, ticking twice a second. */
  now = $state(Date.now());
  toasts = $state<Toast[]>([]);
  /** The latest `tel:` dial request; `seq` changes on every request, even for the same number. */
  dial = $state<{ number: string; seq: number } | null>(null);
  /** Bumped (throttled) when the history changed; the history view reloads on it. */
  historyVersion = $state(0);
  recent = $state<string[]>(recentNumbers());
  loadError = $state<string | null>(null);
  tab = $state<Tab>(loadJson<Tab>('session', 'cti.tab', 'calls'));
  /** The team's shared callback list (missed numbers to call back); `null` until loaded. */
  callbacks = $state.raw<CallbackItem[] | null>(null);

  #seq = 0;
  #toastId = 0;
  #historyTimer: ReturnType<typeof setTimeout> | null = null;
  #historyLast = 0;
  #stop: (() => void)[] = [];

  /** Subscribe to events, load the snapshot, start the clock. Safe to call once per page load. */
  async start(): Promise<void> {
    const buffer: UiEvent[] = [];
    let ready = false;
    try {
      const unlisten = await onEvent((e) => (ready ? this.apply(e) : buffer.push(e)));
      this.#stop.push(unlisten);
      // Asked beside the snapshot (it answers before the engine has started).
      const ack = Promise.resolve()
        .then(() => api.paintAckEnabled())
        .catch(() => false);
      const s = await api.snapshot();
      if (await ack) enablePaintAck(api.reportPainted);
      this.snap = applyAll(s, buffer);
      ready = true;
      this.#applySettings(this.snap.settings);
      for (const e of buffer) this.#sideEffects(e);
      this.loadError = null;
    } catch (e) {
      this.loadError = errorMessage(e);
      return;
    }
    const tick = setInterval(() => {
      const now = Date.now();
      // A long gap between ticks means the machine slept: events may have been missed.
      if (now - this.now > SLEEP_GAP_MS) this.reload();
      this.now = now;
    }, 500);
    this.#stop.push(() => clearInterval(tick));
    if (typeof window !== 'undefined') {
      // Back online, or the window shown again: re-read the state rather than trust what is shown.
      const onOnline = () => this.reload();
      const onVisible = () => document.visibilityState === 'visible' && this.reload();
      window.addEventListener('online', onOnline);
      document.addEventListener('visibilitychange', onVisible);
      this.#stop.push(() => {
        window.removeEventListener('online', onOnline);
        document.removeEventListener('visibilitychange', onVisible);
      });
    }
    const mq = typeof window !== 'undefined' ? window.matchMedia?.('(prefers-color-scheme: dark)') : undefined;
    if (mq) {
      const onChange = () => this.snap && this.#applySettings(this.snap.settings);
      mq.addEventListener?.('change', onChange);
      this.#stop.push(() => mq.removeEventListener?.('change', onChange));
    }
    this.loadCallbacks();
    // A `tel:` link that started the app arrived before this page listened.
    try {
      const pending = await api.takePendingDial();
      if (pending) this.requestDial(pending);
    } catch {
      /* older engines have no pending-dial command */
    }
  }

  stop(): void {
    for (const f of this.#stop.splice(0)) f();
    if (this.#historyTimer) clearTimeout(this.#historyTimer);
  }

  apply(e: UiEvent): void {
    if (this.snap) this.snap = applyEvent(this.snap, e);
    this.#sideEffects(e);
  }

  #sideEffects(e: UiEvent): void {
    switch (e.type) {
      case 'settings':
        this.#applySettings(e.data);
        break;
      case 'notice':
        this.toast(e.data.level === 'error' || e.data.level === 'warning' ? e.data.level : 'info', e.data.message);
        break;
      case 'dial':
        this.requestDial(e.data);
        break;
      case 'history_changed':
        this.#historyChanged();
        break;
      case 'callbacks':
        this.callbacks = e.data;
        break;
    }
  }

  async loadCallbacks(): Promise<void> {
    try {
      this.callbacks = await api.callbacks();
    } catch {
      /* engines without the callback list: the view says it is unavailable */
    }
  }

  /** Settings returned by `set_setting` (the engine also sends them as an event). */
  setSettings(view: SettingsView): void {
    if (this.snap) this.snap = { ...this.snap, settings: view };
    this.#applySettings(view);
  }

  #applySettings(s: SettingsView): void {
    if (typeof document === 'undefined') return;
    lang.set(resolveLang(s.ui.language, navigator.language));
    const dark = window.matchMedia?.('(prefers-color-scheme: dark)').matches ?? false;
    document.documentElement.dataset.theme = resolveTheme(s.ui.theme, dark);
  }

  #historyChanged(): void {
    if (this.#historyTimer) return;
    const wait = Math.max(0, this.#historyLast + HISTORY_THROTTLE_MS - Date.now());
    this.#historyTimer = setTimeout(() => {
      this.#historyTimer = null;
      this.#historyLast = Date.now();
      this.historyVersion++;
    }, wait);
  }

  requestDial(number: string): void {
    this.dial = { number, seq: ++this.#seq };
    this.setTab('calls');
  }

  setTab(tab: Tab): void {
    this.tab = tab;
    saveJson('session', 'cti.tab', tab);
  }

  toast(level: Toast['level'], message: string): void {
    const id = ++this.#toastId;
    this.toasts = [...this.toasts.slice(-3), { id, level, message }];
    setTimeout(() => this.dismiss(id), TOAST_MS);
  }

  dismiss(id: number): void {
    this.toasts = this.toasts.filter((t) => t.id !== id);
  }

  remember(number: string): void {
    this.recent = rememberNumber(number);
  }

  /** Refresh everything from the engine (after sleep, a network change, or on demand). */
  async reload(): Promise<void> {
    try {
      this.snap = await api.snapshot();
      this.#applySettings(this.snap.settings);
      this.historyVersion++;
      this.loadCallbacks();
    } catch (e) {
      this.toast('error', errorMessage(e));
    }
  }
}

export const panel = new Panel();
