// How a connection state reads in the connections bar and the settings. Pure, unit-tested.
import type { ConnectionState } from '../bindings/ConnectionState';
import type { Translate } from './i18n';
import { secondsUntil } from './format';

export type Tone = 'ok' | 'warn' | 'bad' | 'idle';

export function connectionTone(s: ConnectionState): Tone {
  switch (s.state) {
    case 'connected':
      return 'ok';
    case 'connecting':
    case 'backing_off':
      return 'warn';
    case 'failed':
      return 'bad';
    case 'disabled':
      return 'idle';
  }
}

/** One short phrase: "connected", "reconnecting in 4 s", "failed". The reason is shown apart. */
export function connectionText(s: ConnectionState, now: number, t: Translate): string {
  switch (s.state) {
    case 'connected':
      return t('conn.connected');
    case 'connecting':
      return s.attempt > 1 ? t('conn.connecting_attempt', { n: s.attempt }) : t('conn.connecting');
    case 'backing_off':
      return t('conn.backing_off', { secs: secondsUntil(s.next_attempt_ms, now) });
    case 'failed':
      return t('conn.failed');
    case 'disabled':
      return t('conn.disabled');
  }
}
