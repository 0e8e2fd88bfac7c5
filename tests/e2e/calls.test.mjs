// Calls: an incoming call appears on screen the moment it rings, with its timer; a call from the
// demo menu is answered and hung up from its card; click-to-call rings the agent's phone first,
// which can be answered and hung up from the card; a `tel:` link
// pre-fills and focuses the dial box (at startup and while running) and never dials by itself.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { launch } from './lib/app.mjs';
import { card, openTab, ready, SCENARIO, shot } from './lib/panel.mjs';

const EN = '[ui]\nlanguage = "en"\ntheme = "light"\n';

/** After Hang up: the card ends (and later leaves the board); a refusal shows on the card. */
async function hungUp(session, css) {
  const state = await session.waitForScript(
    `const el = document.querySelector(arguments[0]);
     if (!el) return 'gone';
     const err = el.querySelector('[data-testid="call-error"]');
     if (err) return 'error: ' + err.textContent;
     return el.dataset.phase === 'ended' ? 'ended' : null;`,
    [css],
    { timeout: 30000, what: `${css} hung up` },
  );
  assert.ok(state === 'ended' || state === 'gone', state);
}

test('an incoming call appears on screen with its caller and timer', async () => {
  const { session } = await launch({ config: EN });
  try {
    // The demo's first call rings the agent 3 s after the start.
    const c = card(SCENARIO.firstCaller);
    await session.waitFor(c, { timeout: 30000 });
    assert.match(await (await session.find(`${c} [data-testid="call-phase"]`)).text(), /^(Ringing|Talking)$/);
    assert.match(await (await session.find(`${c} [data-testid="call-timer"]`)).text(), /^\d+:\d\d$/);
    assert.match(await (await session.find(c)).text(), /\+7 916 123-45-67/);
    await shot(session, 'calls-incoming');
    // Answered by the agent's phone: the card turns into a talking call with a talk timer.
    await session.waitFor(`${c}[data-phase="active"]`, { timeout: 30000 });
  } finally {
    await session.quit();
  }
});

test('the demo menu rings the agent; the call is answered and hung up from its card', async () => {
  const { session } = await launch({ config: EN });
  try {
    await ready(session);
    await (await session.find('[data-testid="demo-menu"] summary')).click();
    await (await session.waitFor('[data-testid="demo-incoming"]')).click();
    const key = await session.waitForScript(
      `const c = [...document.querySelectorAll('[data-testid="call-card"][data-phase="ringing"]')]
         .find((e) => e.textContent.includes('Demo caller'));
       return c ? c.dataset.key : null;`,
      [],
      { timeout: 20000, what: 'the simulated incoming call' },
    );
    const c = `[data-testid="call-card"][data-key="${key}"]`;
    await (await session.find(`${c} button[aria-label="Answer"]`)).click();
    await session.waitFor(`${c}[data-phase="active"]`, { timeout: 20000 });
    await (await session.find(`${c} button[aria-label="Hang up"]`)).click();
    await hungUp(session, c);
  } finally {
    await session.quit();
  }
});

test('click-to-call: answer the own leg, then hang up from the card', async () => {
  const { session } = await launch({ config: EN });
  try {
    await ready(session);
    const number = '+74956407080';
    await (await session.find('[data-testid="dial-input"]')).type(number);
    await (await session.find('[data-testid="dial-button"]')).click();
    await session.waitForText('[data-testid="dial-box"]', 'Calling', 20000);
    const c = card(number);
    await (await session.waitFor(`${c}[data-phase="ringing"] button[aria-label="Answer"]`, { timeout: 20000 })).click();
    await session.waitFor(`${c}[data-phase="active"]`, { timeout: 20000 });
    await (await session.find(`${c} button[aria-label="Hang up"]`)).click();
    await hungUp(session, c);
    // The number is offered again next time (recent numbers survive a reload).
    assert.ok(await session.execute("return JSON.parse(localStorage.getItem('cti.recentNumbers')).includes('+74956407080')"));
  } finally {
    await session.quit();
  }
});

/** Whether the engine keeps a startup link for the page (`take_pending_dial`). */
async function hasPendingDial(session) {
  await session.execute(
    "window.__probe = null; window.__TAURI_INTERNALS__.invoke('take_pending_dial').then(() => (window.__probe = 'ok'), (e) => (window.__probe = String(e?.message ?? e))); return 1",
  );
  const r = await session.waitForScript('return window.__probe', [], { what: 'take_pending_dial probe' });
  return !/not found/i.test(r);
}

test('a tel: link starts a dial: the dial box is pre-filled and focused, nothing is dialled', async (t) => {
  const { session } = await launch({ config: EN, args: ['--demo', 'tel:+74951234567'] });
  try {
    await ready(session);
    const input = '[data-testid="dial-input"]';
    try {
      await session.waitForScript(`return document.querySelector('${input}')?.value === '+74951234567'`, [], {
        timeout: 20000,
        what: 'dial box pre-filled from the command-line link',
      });
      await session.waitFor('[data-testid="dial-from-link"]');
    } catch (e) {
      if (await hasPendingDial(session)) throw e;
      t.diagnostic('this engine has no take_pending_dial: a link given at startup is not kept for the page');
    }

    // A link opened while the panel runs (second instance / deep link) does the same, from any view.
    await openTab(session, 'history');
    await session.execute("window.__TAURI_INTERNALS__.invoke('open_link', { link: 'callto:+7 (495) 765-43-21' }); return 1");
    await session.waitFor('[data-testid="tab-calls"][aria-selected="true"]');
    await session.waitForScript(`return document.querySelector('${input}')?.value === '+74957654321'`, [], { what: 'dial box from open_link' });
    await session.waitForScript(`return document.activeElement === document.querySelector('${input}')`, [], { what: 'dial box focused' });
    assert.equal(await session.execute(`return document.querySelectorAll('[data-testid="call-card"][data-number="+74957654321"]').length`), 0);
    await shot(session, 'calls-dial-link');
  } finally {
    await session.quit();
  }
});
