// History: a missed call appears (with the badge), search finds it by number, notes can be
// added, opening the missed view clears the badge, CSV export shows where it wrote; the missed
// number waits in the team's callback list, is claimed and closed with an outcome.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { launch } from './lib/app.mjs';
import { openTab, ready, shot } from './lib/panel.mjs';

test('a missed call appears in history and search finds it by number', async () => {
  const { session } = await launch({ config: '[ui]\nlanguage = "en"\ntheme = "light"\n' });
  try {
    await ready(session);
    // The demo's second call (12 s) rings the support queue until the caller gives up: missed.
    await session.waitFor('[data-testid="badge-history"]', { timeout: 60000 });

    await openTab(session, 'history');
    const missed = await session.waitFor('[data-testid="history-row"].missed', { timeout: 20000 });
    const number = await missed.attr('data-number');
    assert.match(number, /^\+?\d{10,}$/);

    const search = await session.waitFor('[data-testid="history-search"]');
    await search.type(number.slice(-10)); // a part of the number, without the country code
    await session.waitForScript(
      `const rows = [...document.querySelectorAll('[data-testid="history-row"]')];
       return rows.length > 0 && rows.every((r) => r.dataset.number === arguments[0]);`,
      [number],
      { timeout: 20000, what: `only calls of ${number} listed` },
    );
    const row = `[data-testid="history-row"][data-number="${number}"].missed`;
    await session.waitForText(row, 'Missed', 20000);

    await (await session.find(row)).click();
    await session.waitFor('[data-testid="call-details"]');
    await (await session.waitFor('[data-testid="note-input"]')).type('Call back after 15:00');
    await (await session.find('[data-testid="note-add"]')).click();
    await session.waitForText('[data-testid="notes"]', 'Call back after 15:00', 20000);
    await shot(session, 'history-search');

    await (await session.find('[data-testid="history-missed-only"]')).click();
    await session.waitForScript('return !document.querySelector(\'[data-testid="badge-history"]\')', [], {
      timeout: 20000,
      what: 'missed badge cleared',
    });

    await (await session.find('[data-testid="history-export"]')).click();
    const path = await session.waitFor('[data-testid="history-exported"]', { timeout: 20000 });
    assert.match(await path.text(), /cti-history-.*\.csv$/);

    // The team's callback list: the missed number is waiting; claim it, then close it with an outcome.
    await (await session.find('[data-testid="history-sub-callbacks"]')).click();
    const key = await session.waitForScript(
      `const tail = arguments[0].replace(/\\D/g, '').slice(-10);
       const el = [...document.querySelectorAll('[data-testid="callback-item"]')]
         .find((e) => e.dataset.number.replace(/\\D/g, '').endsWith(tail));
       return el ? el.dataset.key : null;`,
      [number],
      { timeout: 20000, what: `callback item of ${number}` },
    );
    const item = `[data-testid="callback-item"][data-key="${key}"]`;
    await session.waitFor(`${item}[data-state="open"]`, { timeout: 20000 });
    await (await session.find(`${item} [data-testid="callback-claim"]`)).click();
    await session.waitFor(`${item}[data-state="claimed_by_me"]`, { timeout: 20000 });
    assert.match(await (await session.find(`${item} [data-testid="callback-state"]`)).text(), /claimed by 101/);
    await (await session.find(`${item} [data-testid="callback-outcome"]`)).type('Order placed');
    await (await session.find(`${item} [data-testid="callback-outcome-save"]`)).click();
    await session.waitForScript(
      `const el = document.querySelector(arguments[0]); return !el || el.dataset.state === 'closed';`,
      [item],
      { timeout: 20000, what: 'callback closed' },
    );
    await shot(session, 'history-callbacks');
  } finally {
    await session.quit();
  }
});
