// Calls: an incoming call appears at once with its timer, can be answered and hung up;
// a `tel:` link pre-fills the dial box (at startup and while running) without dialling.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { launch } from './lib/app.mjs';
import { demoCall, openTab, ready, shot, uniqueNumber } from './lib/panel.mjs';

const EN = '[ui]\nlanguage = "en"\ntheme = "light"\n';

test('an incoming call appears on screen and can be answered and hung up', async () => {
  const { session } = await launch({ config: EN });
  try {
    await ready(session);
    const from = uniqueNumber();
    const asked = Date.now();
    await demoCall(session, 'incoming', from);
    const card = `[data-testid="call-card"][data-number="${from}"]`;
    await session.waitFor(card, { timeout: 20000 });
    const appeared = Date.now() - asked;
    assert.ok(appeared < 10000, `the card took ${appeared} ms`);
    assert.equal(await (await session.find(`${card} [data-testid="call-phase"]`)).text(), 'Ringing');
    assert.match(await (await session.find(`${card} [data-testid="call-timer"]`)).text(), /^\d+:\d\d$/);
    await shot(session, 'calls-incoming');

    await (await session.find(`${card} button[aria-label="Answer"]`)).click();
    await session.waitFor(`${card}[data-phase="active"]`, { timeout: 20000 });
    await (await session.find(`${card} button[aria-label="Hang up"]`)).click();
    await session.waitFor(`${card}[data-phase="ended"]`, { timeout: 20000 });
  } finally {
    await session.quit();
  }
});

test('a tel: link starts a dial: the dial box is pre-filled and focused, nothing is dialled', async () => {
  const { session } = await launch({ config: EN, args: ['--demo', 'tel:+74951234567'] });
  try {
    await ready(session);
    const input = '[data-testid="dial-input"]';
    await session.waitForScript(`return document.querySelector('${input}')?.value === '+74951234567'`, [], {
      timeout: 20000,
      what: 'dial box pre-filled from the command-line link',
    });
    await session.waitFor('[data-testid="dial-from-link"]');

    // A link opened while the panel runs (second instance / deep link) does the same, from any view.
    await openTab(session, 'history');
    await session.execute("window.__ctiDemo.openLink('callto:+7 (495) 765-43-21')");
    await session.waitFor('[data-testid="tab-calls"][aria-selected="true"]');
    await session.waitForScript(`return document.querySelector('${input}')?.value === '+74957654321'`, [], { what: 'dial box from open_link' });
    await session.waitForScript(`return document.activeElement === document.querySelector('${input}')`, [], { what: 'dial box focused' });
    await shot(session, 'calls-dial-link');

    await (await session.find('[data-testid="dial-button"]')).click();
    await session.waitForText('[data-testid="dial-box"]', 'Calling', 20000);
  } finally {
    await session.quit();
  }
});
