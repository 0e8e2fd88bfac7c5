// Helpers for driving the panel: demo calls, views, settings, screenshots, visible text.
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { SHOTS } from './app.mjs';

/** A caller number no other test (or the demo stream) uses. */
export function uniqueNumber() {
  return `+7916${String(Date.now() % 10_000_000).padStart(7, '0')}`;
}

/** Wait for the panel to load its snapshot and expose the demo hooks. */
export async function ready(session) {
  await session.waitFor('[data-testid="connections"]', { timeout: 30000 });
  await session.waitForScript('return !!window.__ctiDemo', [], { timeout: 30000, what: 'demo hooks' });
}

let seq = 0;

/**
 * Run a demo hook (a promise in the page) and wait for its outcome. The promise is started by a
 * synchronous script and polled: WebKitWebDriver's asynchronous scripts are not dependable.
 */
async function hook(session, name, args, timeout = 20000) {
  const slot = `__ctiE2e${++seq}`;
  await session.execute(
    `const slot = arguments[0];
     window[slot] = null;
     window.__ctiDemo[arguments[1]](...arguments[2]).then(
       (v) => (window[slot] = { ok: true, v: v ?? null }),
       (e) => (window[slot] = { ok: false, error: (e && e.message) || String(e) }));
     return true;`,
    [slot, name, args],
  );
  return session.waitForScript('return window[arguments[0]]', [slot], { timeout, what: `demo hook ${name}` });
}

/** Ask the simulator for a call now (`incoming`, `missed`, `answered`, `ivr`); returns the sim call id. */
export async function demoCall(session, kind, from) {
  const r = await hook(session, 'call', [kind, from ?? null]);
  if (!r.ok) throw new Error(`demo_call ${kind}: ${r.error}`);
  return r.v;
}

/** The caller of sim call `callId` presses `digits`; false when the engine has no such hook. */
export async function demoDtmf(session, callId, digits) {
  const r = await hook(session, 'dtmf', [callId, digits]);
  return r.ok;
}

export async function openTab(session, id) {
  await (await session.find(`[data-testid="tab-${id}"]`)).click();
  await session.waitFor(`[data-testid="tab-${id}"][aria-selected="true"]`);
}

/** Change a `<select>` by clicking its option (how WebKitWebDriver changes selects). */
export async function choose(session, selectCss, value) {
  await (await session.find(`${selectCss} option[value="${value}"]`)).click();
}

export async function setLanguage(session, lang) {
  await openTab(session, 'settings');
  await choose(session, '[data-testid="language-select"]', lang);
  await session.waitForScript('return document.documentElement.lang === arguments[0]', [lang], { what: `language ${lang}` });
}

export async function setTheme(session, theme) {
  await openTab(session, 'settings');
  await choose(session, '[data-testid="theme-select"]', theme);
  await session.waitForScript('return document.documentElement.dataset.theme === arguments[0]', [theme], { what: `theme ${theme}` });
}

/** Screenshot of the display into target/e2e-screenshots/<name>.png. */
export async function shot(session, name) {
  const file = join(SHOTS, `${name}.png`);
  await session.screenshot(file);
  return file;
}

/** Crop a display screenshot to the window (1180×760 at the top-left) and shrink it for docs. */
export function cropForDocs(src, dest) {
  execFileSync('convert', [src, '-crop', '1180x760+0+0', '+repage', '-resize', '1000x', '-strip', '-colors', '96', `PNG8:${dest}`], {
    timeout: 30000,
  });
}

/**
 * The UI words visible in the window: text nodes and placeholders of rendered elements, without
 * engine/platform data (marked `data-raw`), input values, hidden elements and the recent-number list.
 */
export async function visibleText(session) {
  return session.execute(`
    const out = [];
    const skip = (el) => !el || el.closest('[data-raw], script, style, datalist, textarea');
    const shown = (el) => {
      if (el.tagName === 'OPTION') return !!el.closest('select') && shown(el.closest('select'));
      const r = el.getBoundingClientRect();
      if (r.width === 0 || r.height === 0) return false;
      const s = getComputedStyle(el);
      return s.visibility !== 'hidden' && s.display !== 'none' && Number(s.opacity) > 0;
    };
    const w = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
    while (w.nextNode()) {
      const n = w.currentNode;
      const el = n.parentElement;
      if (!n.textContent.trim() || skip(el) || !shown(el)) continue;
      out.push(n.textContent.trim());
    }
    for (const el of document.querySelectorAll('[placeholder]')) {
      if (!el.closest('[data-raw]') && shown(el) && el.getAttribute('placeholder')) out.push(el.getAttribute('placeholder'));
    }
    out.push(document.title);
    return out;
  `);
}

/** Words with Latin lowercase letters: in a Russian UI these are untranslated strings. */
export const ALLOWED_LATIN = new Set(['English', 'WebSocket', 'Ctrl', 'Enter', 'Alt', 'Esc']);

export function englishWords(texts) {
  const words = new Set();
  for (const t of texts) {
    for (const w of t.match(/[A-Za-z][A-Za-z_]*/g) ?? []) {
      if (/[a-z]/.test(w) && !ALLOWED_LATIN.has(w)) words.add(w);
    }
  }
  return [...words];
}
