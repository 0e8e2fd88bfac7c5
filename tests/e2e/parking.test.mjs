// Parking: park a live call to slot 6, see it in the grid with a running countdown, bridge it
// back from the grid.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { launch } from './lib/app.mjs';
import { choose, demoCall, openTab, ready, shot, uniqueNumber } from './lib/panel.mjs';

const toSecs = (s) => s.split(':').reduce((a, b) => a * 60 + Number(b), 0);

test('park to slot 6, countdown in the grid, bridge from the grid', async () => {
  const { session } = await launch({ config: '[ui]\nlanguage = "en"\ntheme = "light"\n' });
  try {
    await ready(session);
    await session.waitForText('[data-testid="conn-telphin"]', 'connected', 30000);
    const first = uniqueNumber();
    await demoCall(session, 'answered', first);
    const card = `[data-testid="call-card"][data-number="${first}"]`;
    await session.waitFor(`${card}[data-phase="active"]`, { timeout: 30000 });
    await (await session.waitFor(`${card} [data-testid="park-open"]`)).click();
    await choose(session, `${card} [data-testid="park-slot-select"]`, '6');
    await (await session.find(`${card} [data-testid="park-confirm"]`)).click();

    await openTab(session, 'parking');
    const slot = '[data-testid="park-slot-6"]';
    await session.waitFor(`${slot}[data-occupied="true"]`, { timeout: 30000 });
    const t1 = toSecs(await (await session.waitFor(`${slot} [data-testid="park-countdown"]`)).text());
    assert.ok(t1 > 100 && t1 <= 180, `countdown ${t1}`);
    await new Promise((r) => setTimeout(r, 2200));
    const t2 = toSecs(await (await session.find(`${slot} [data-testid="park-countdown"]`)).text());
    assert.ok(t2 < t1, `the countdown runs (${t1} → ${t2})`);
    assert.notEqual((await (await session.find(`${slot} [data-testid="park-caller"]`)).text()).trim(), '');
    await shot(session, 'parking-slot-6');

    // Bridging needs a live call of the agent: answer a second one, then bridge slot 6 to it.
    const second = uniqueNumber();
    await demoCall(session, 'answered', second);
    await openTab(session, 'calls');
    await session.waitFor(`[data-testid="call-card"][data-number="${second}"][data-phase="active"]`, { timeout: 30000 });
    await openTab(session, 'parking');
    await (await session.find(`${slot} [data-testid="park-bridge"]`)).click();
    await session.waitFor(`${slot}[data-occupied="false"]`, { timeout: 30000 });
  } finally {
    await session.quit();
  }
});
