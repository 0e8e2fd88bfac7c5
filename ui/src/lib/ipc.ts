// The only module that talks to Tauri. Everything else imports typed functions from here, so
// the views can be unit-tested with this module mocked.
import type { ListenerUrls } from '../bindings/ListenerUrls';
import { invoke } from '@tauri-apps/api/core';
import { listen, type UnlistenFn } from '@tauri-apps/api/event';
import type { Action } from '../bindings/Action';
import type { AppInfo } from '../bindings/AppInfo';
import type { CallAction } from '../bindings/CallAction';
import type { CallbackItem } from '../bindings/CallbackItem';
import type { CallDetails } from '../bindings/CallDetails';
import type { CallFilter } from '../bindings/CallFilter';
import type { CallPage } from '../bindings/CallPage';
import type { EraFrameDir } from '../bindings/EraFrameDir';
import type { ExportFormat } from '../bindings/ExportFormat';
import type { InspectorEntry } from '../bindings/InspectorEntry';
import type { IvrCommand } from '../bindings/IvrCommand';
import type { IvrRule } from '../bindings/IvrRule';
import type { IvrSettings } from '../bindings/IvrSettings';
import type { Note } from '../bindings/Note';
import type { PageRequest } from '../bindings/PageRequest';
import type { Platform } from '../bindings/Platform';
import type { RejectedEntry } from '../bindings/RejectedEntry';
import type { SelfTestReport } from '../bindings/SelfTestReport';
import type { SettingsView } from '../bindings/SettingsView';
import type { TeamAction } from '../bindings/TeamAction';
import type { TeamView } from '../bindings/TeamView';
import type { Snapshot } from '../bindings/Snapshot';
import type { UiEvent } from '../bindings/UiEvent';
import type { UiError } from '../bindings/UiError';

export const UI_EVENT = 'cti://event';

/** A failed command: the `{ code, message }` the core sends. */
export class CommandError extends Error {
  constructor(
    public readonly code: UiError['code'],
    message: string,
  ) {
    super(message);
  }
}

/** The message to show for any failure (a `CommandError`'s own message, else the text). */
export function errorMessage(e: unknown): string {
  if (e instanceof CommandError) return e.message;
  if (e instanceof Error) return e.message;
  return String(e);
}

/** One Era WebSocket frame the inspector keeps. */
export type InspectorFrame = { at_ms: number; dir: EraFrameDir; text: string };

/** What `inspector()` returns: listener exchanges, rejected requests, the last Era frames. */
export type InspectorData = { requests: InspectorEntry[]; rejected: RejectedEntry[]; frames: InspectorFrame[] };

/** Demo-only simulator controls (`--demo`), used by the end-to-end tests. */
export type DemoCallKind = 'incoming' | 'missed' | 'answered' | 'ivr';

async function call<T>(cmd: string, args?: Record<string, unknown>): Promise<T> {
  try {
    return await invoke<T>(cmd, args);
  } catch (e) {
    if (e && typeof e === 'object' && 'code' in e && 'message' in e) {
      const err = e as UiError;
      throw new CommandError(err.code, err.message);
    }
    throw new CommandError('internal', String(e));
  }
}

export const api = {
  appInfo: () => call<AppInfo>('app_info'),
  getSettings: () => call<SettingsView>('get_settings'),
  setSetting: (key: string, value: unknown) => call<SettingsView>('set_setting', { key, value }),
  snapshot: () => call<Snapshot>('snapshot'),

  callAction: (key: string, action: CallAction) => call<void>('call_action', { key, action }),
  dial: (number: string) => call<void>('dial', { number }),
  bridgeSlot: (extensionId: string, slot: number) => call<void>('bridge_slot', { extensionId, slot }),
  openLink: (link: string) => call<string>('open_link', { link }),
  takePendingDial: () => call<string | null>('take_pending_dial'),

  ivrCommand: (key: string, command: IvrCommand) => call<void>('ivr_command', { key, command }),
  decideIvr: (id: number, actions: Action[]) => call<void>('decide_ivr', { id, actions }),

  historyList: (filter: CallFilter, page: PageRequest) => call<CallPage>('history_list', { filter, page }),
  historyDetails: (callId: number) => call<CallDetails>('history_details', { callId }),
  historyAddNote: (callId: number, body: string) => call<Note>('history_add_note', { callId, body }),
  historySetDisposition: (callId: number, disposition: string | null) =>
    call<void>('history_set_disposition', { callId, disposition }),
  historyExport: (filter: CallFilter, format: ExportFormat) => call<string>('history_export', { filter, format }),
  missedSeen: () => call<void>('missed_seen'),

  inspector: () => call<InspectorData>('inspector'),
  inspectorReplay: (id: number) => call<InspectorEntry>('inspector_replay', { id }),
  retryConnection: (platform: Platform) => call<void>('retry_connection', { platform }),

  ivrRules: () => call<IvrSettings>('ivr_rules'),
  setIvrRules: (settings: IvrSettings) => call<IvrSettings>('set_ivr_rules', { settings }),
  previewRuleXml: (rule: IvrRule) => call<string>('preview_rule_xml', { rule }),
  validateReplyXml: (xml: string) => call<Action[]>('validate_reply_xml', { xml }),

  callbacks: () => call<CallbackItem[]>('callbacks'),
  claimCallback: (key: string) => call<void>('claim_callback', { key }),
  releaseCallback: (key: string) => call<void>('release_callback', { key }),
  callbackOutcome: (key: string, outcome: string) => call<void>('callback_outcome', { key, outcome }),

  selfTest: () => call<SelfTestReport>('self_test'),
  supportBundle: () => call<string>('support_bundle'),
  regenerateListenerToken: () => call<ListenerUrls>('regenerate_listener_token'),

  teamRefresh: () => call<TeamView>('team_refresh'),
  teamAction: (extensionId: string, callApiId: string, action: TeamAction) =>
    call<void>('team_action', { extensionId, callApiId, action }),

  /** Whether painted incoming-call cards are acknowledged (benchmark runs only). */
  paintAckEnabled: () => call<boolean>('paint_ack_enabled'),
  reportPainted: (key: string, number: string, refs: string[], mountedMs: number, sentMs: number) =>
    call<void>('report_painted', { key, number, refs, mountedMs, sentMs }),

  demoCall: (kind: DemoCallKind, from?: string) => call<string>('demo_call', { kind, from: from ?? null }),
  demoDtmf: (callId: string, digits: string) => call<void>('demo_dtmf', { callId, digits }),
};

export type Api = typeof api;

/** Subscribe to engine events. */
export function onEvent(handler: (e: UiEvent) => void): Promise<UnlistenFn> {
  return listen<UiEvent>(UI_EVENT, (ev) => handler(ev.payload));
}

/** Copy text to the clipboard (the web API; no Tauri plugin needed). */
export async function copyText(text: string): Promise<boolean> {
  try {
    await navigator.clipboard.writeText(text);
    return true;
  } catch {
    // WebKitGTK without a secure context: fall back to a hidden textarea.
    const ta = document.createElement('textarea');
    ta.value = text;
    ta.setAttribute('readonly', '');
    ta.style.position = 'fixed';
    ta.style.opacity = '0';
    document.body.appendChild(ta);
    ta.select();
    let ok = false;
    try {
      ok = document.execCommand('copy');
    } catch {
      ok = false;
    }
    ta.remove();
    return ok;
  }
}
