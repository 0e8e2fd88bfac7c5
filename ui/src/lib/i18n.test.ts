import { describe, expect, it } from 'vitest';
import { get } from 'svelte/store';
import { catalogues, format, lang, resolveLang, t } from './i18n';

describe('i18n', () => {
  it('has the same keys in Russian and English, none empty', () => {
    const en = Object.keys(catalogues.en).sort();
    const ru = Object.keys(catalogues.ru).sort();
    expect(ru).toEqual(en);
    for (const l of ['en', 'ru'] as const) {
      for (const [k, v] of Object.entries(catalogues[l])) {
        expect(v.trim(), `${l}:${k}`).not.toBe('');
      }
    }
  });

  it('translates Russian strings (not copies of English) except names', () => {
    const same = Object.keys(catalogues.en).filter(
      (k) => catalogues.en[k as keyof typeof catalogues.en] === catalogues.ru[k as keyof typeof catalogues.ru],
    );
    expect(same).toEqual(['nav.ivr', 'ivr.number']);
  });

  it('keeps placeholders in both languages', () => {
    for (const k of Object.keys(catalogues.en) as (keyof typeof catalogues.en)[]) {
      const ph = (s: string) => (s.match(/\{\w+\}/g) ?? []).sort();
      expect(ph(catalogues.ru[k]), k).toEqual(ph(catalogues.en[k]));
    }
  });

  it('resolves the language from the setting and the OS locale', () => {
    expect(resolveLang('auto', 'ru-RU')).toBe('ru');
    expect(resolveLang('auto', 'en-US')).toBe('en');
    expect(resolveLang('auto', undefined)).toBe('en');
    expect(resolveLang('en', 'ru-RU')).toBe('en');
    expect(resolveLang('ru', 'en-US')).toBe('ru');
  });

  it('switches every string with the language', () => {
    lang.set('en');
    expect(get(t)('nav.calls')).toBe('Calls');
    lang.set('ru');
    expect(get(t)('nav.calls')).toBe('Звонки');
    expect(get(t)('park.slot', { slot: 6 })).toBe('Слот 6');
    expect(format('{a} {b}', { a: 1 })).toBe('1 {b}');
  });
});
