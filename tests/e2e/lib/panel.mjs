// Helpers for driving the panel: the demo's scripted calls, views, settings, screenshots, visible text.
import { execFileSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { SHOTS } from './app.mjs';

/**
 * The demo's scripted opening (assets/scenarios/demo.toml, seed 2024), counted from the app's
 * start: the tests wait for these calls instead of needing test-only commands.
 */
export const SCENARIO = {
  /** 3 s: rings 101–103, answered by the agent 101 after 5 s, talks 45 s. */
  firstCaller: '+79161234567',
  /** 25 s: reaches IVR 800 with Era external control offered; the caller presses 1 after 6 s. */
  ivrCaller: '+79600001234',
};

/** Wait for the panel to load its snapshot and the platforms to connect. */
export async function ready(session, platforms = ['era', 'telphin', 'listener']) {
  await session.waitFor('[data-testid="connections"]', { timeout: 30000 });
  for (const p of platforms) {
    await session.waitFor(`[data-testid="conn-${p}"] .state`, { timeout: 30000 });
    await session.waitForScript(
      'return document.querySelector(`[data-testid="conn-${arguments[0]}"]`)?.classList.contains("ok")',
      [p],
      { timeout: 30000, what: `${p} connected` },
    );
  }
}

/** The card of a call on the Calls view, by the remote number. */
export const card = (number) => `[data-testid="call-card"][data-number="${number}"]`;

/**
 * A live call of the agent's own, made from the UI: dial the number (click-to-call rings the
 * agent's phone first), answer that leg, wait until it talks.
 */
export async function ownLiveCall(session, number) {
  await openTab(session, 'calls');
  const input = await session.find('[data-testid="dial-input"]');
  await input.clear();
  await input.type(number);
  await (await session.find('[data-testid="dial-button"]')).click();
  await (await session.waitFor(`${card(number)} button[aria-label="Answer"]`, { timeout: 20000 })).click();
  await session.waitFor(`${card(number)}[data-phase="active"]`, { timeout: 20000 });
}

/** Park the call shown as `number` to `slot` from its card. */
export async function parkFromCard(session, number, slot) {
  await (await session.waitFor(`${card(number)} [data-testid="park-open"]`)).click();
  await choose(session, `${card(number)} [data-testid="park-slot-select"]`, String(slot));
  await (await session.find(`${card(number)} [data-testid="park-confirm"]`)).click();
}

export async function openTab(session, id) {
  await (await session.find(`[data-testid="tab-${id}"]`)).click();
  await session.waitFor(`[data-testid="tab-${id}"][aria-selected="true"]`);
}

/** Change a `<select>` by clicking its option (how WebKitWebDriver changes selects). The
 * options may render a moment after the select (a park form lists the slots as the park state
 * arrives), so wait for the one wanted. */
export async function choose(session, selectCss, value) {
  await (await session.waitFor(`${selectCss} option[value="${value}"]`)).click();
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
  mkdirSync(dirname(dest), { recursive: true });
  execFileSync('convert', [src, '-crop', '1180x760+0+0', '+repage', '-resize', '1000x', '-strip', '+dither', '-colors', '256', `PNG8:${dest}`], {
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
