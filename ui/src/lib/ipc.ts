// The only module that talks to Tauri. Everything else imports typed functions from here, so
// the views can be unit-tested with this module mocked.
import { invoke } from '@tauri-apps/api/core';
import { listen, type UnlistenFn } from '@tauri-apps/api/event';
import type { AppInfo } from '../bindings/AppInfo';
import type { SettingsView } from '../bindings/SettingsView';
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
};

export type Api = typeof api;

/** Subscribe to engine events. */
export function onEvent(handler: (e: UiEvent) => void): Promise<UnlistenFn> {
  return listen<UiEvent>(UI_EVENT, (ev) => handler(ev.payload));
}
