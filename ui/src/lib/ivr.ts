// Reading IVR data for people: Call Interactive actions, Era components and component results.
import type { Action } from '../bindings/Action';
import type { EraComponent } from '../bindings/EraComponent';
import type { JsonValue } from '../bindings/serde_json/JsonValue';
import type { Translate } from './i18n';

/** The file the Play control starts with (the agent can type any other storage path). */
export const DEFAULT_PLAY_FILE = ':GS_PUB/demo/hello.wav';

/** One Call Interactive action in words: "transfer to 101, 102", "play hello.wav". */
export function describeAction(a: Action, t: Translate): string {
  switch (a.action) {
    case 'hangup':
      return t('act.hangup');
    case 'pause':
      return t('act.pause', { secs: a.length ?? 1 });
    case 'set_var':
      return t('act.set_var', { name: a.name, value: a.value });
    case 'jump':
      return t('act.jump', { target: `${a.context}/${a.option}` });
    case 'set_caller':
      return t('act.set_caller', { caller: [a.name, a.number].filter(Boolean).join(' ') });
    case 'play_sound':
      return t('act.play_sound', { file: a.file });
    case 'simple_transfer':
      return t('act.simple_transfer', { numbers: a.numbers.join(', ') });
  }
}

/** A whole reply: actions joined, or what an empty reply means. */
export function describeActions(actions: Action[], t: Translate): string {
  return actions.length === 0 ? t('act.none') : actions.map((a) => describeAction(a, t)).join('; ');
}

/** The running component of a controlled session in words. */
export function describeComponent(c: EraComponent, t: Translate): string {
  switch (c.type) {
    case 'play':
      return t('comp.play', { file: c.file });
    case 'record':
      return c.max_symbols ? t('comp.collect', { n: c.max_symbols }) : t('comp.record', { secs: c.seconds });
    case 'transfer':
      return t('comp.transfer', { number: c.number });
    case 'hangup':
      return t('comp.hangup');
    case 'raw':
      return t('comp.raw');
  }
}

/** The `key: value` pairs of a component's results, in a stable order, as short text. */
export function resultPairs(results: JsonValue): [string, string][] {
  if (!results || typeof results !== 'object' || Array.isArray(results)) {
    return results === null || results === undefined ? [] : [['', JSON.stringify(results)]];
  }
  return Object.keys(results)
    .sort()
    .map((k) => {
      const v = results[k];
      return [k, typeof v === 'string' ? v : JSON.stringify(v)] as [string, string];
    });
}

/** The recorded file a component result names (`recordFile`), if any. */
export function recordedFile(results: JsonValue): string | null {
  if (results && typeof results === 'object' && !Array.isArray(results)) {
    const f = results.recordFile;
    return typeof f === 'string' && f ? f : null;
  }
  return null;
}

/** Digits pressed, spaced for reading: "1 2 #". */
export function spacedDigits(d: string): string {
  return d.split('').join(' ');
}
