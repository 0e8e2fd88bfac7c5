// Parking: park a live call to slot 6, see it in the grid with a running countdown, bridge it
// back from the grid to another live call.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { launch } from './lib/app.mjs';
import { ownLiveCall, openTab, parkFromCard, ready, shot } from './lib/panel.mjs';

const toSecs = (s) => s.split(':').reduce((a, b) => a * 60 + Number(b), 0);

test('park to slot 6, countdown in the grid, bridge from the grid', async () => {
  const { session } = await launch({ config: '[ui]\nlanguage = "en"\ntheme = "light"\n' });
  try {
    await ready(session);
    const first = '+74956407080';
    await ownLiveCall(session, first);
    await parkFromCard(session, first, 6);

    await openTab(session, 'parking');
    const slot = '[data-testid="park-slot-6"]';
    await session.waitFor(`${slot}[data-occupied="true"]`, { timeout: 30000 });
    const t1 = toSecs(await (await session.waitFor(`${slot} [data-testid="park-countdown"]`)).text());
    assert.ok(t1 > 100 && t1 <= 180, `countdown ${t1}`);
    await new Promise((r) => setTimeout(r, 2200));
    const t2 = toSecs(await (await session.find(`${slot} [data-testid="park-countdown"]`)).text());
    assert.ok(t2 < t1, `the countdown runs (${t1} → ${t2})`);
    assert.match(await (await session.find(`${slot} [data-testid="park-caller"]`)).text(), /495 640-70-80/);
    await shot(session, 'parking-slot-6');

    // Bridging joins the parked call with a live call of the agent: make one, then bridge slot 6.
    await ownLiveCall(session, '+79161112233');
    await openTab(session, 'parking');
    await (await session.find(`${slot} [data-testid="park-bridge"]`)).click();
    await session.waitFor(`${slot}[data-occupied="false"]`, { timeout: 30000 });
  } finally {
    await session.quit();
  }
});
