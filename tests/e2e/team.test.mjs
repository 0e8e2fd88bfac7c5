// Supervisor team board: the parking slots of two team extensions from the simulator (the
// agent's own lot and colleague 102's), and a pickup from the board.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { launch } from './lib/app.mjs';
import { openTab, ownLiveCall, parkFromCard, ready, shot } from './lib/panel.mjs';

const CONFIG = '[ui]\nlanguage = "en"\ntheme = "light"\nrole = "supervisor"\n\n[team]\nextensions = ["34414", "34415"]\n';

test('team board shows the slots of two extensions and picks up a parked call', async () => {
  const { session } = await launch({ config: CONFIG });
  try {
    await ready(session);
    assert.ok(await session.find('[data-testid="tab-team"]'), 'supervisors see the Team view');
    // The agent's own lot (34414): park a call to slot 6.
    await ownLiveCall(session, '+74956407080');
    await parkFromCard(session, '+74956407080', 6);
    // Picking up joins a parked call with a live call of the supervisor's.
    await ownLiveCall(session, '+79161112233');

    await openTab(session, 'team');
    const own = '[data-testid="team-lot"][data-extension="34414"] [data-testid="park-slot-6"]';
    await session.waitFor(`${own}[data-occupied="true"]`, { timeout: 30000 });
    // The demo's 40 s call is parked by 102 (extension 34415) in slot 3 for 25 s.
    const colleague = '[data-testid="team-lot"][data-extension="34415"] [data-testid="park-slot-3"]';
    await session.waitFor(`${colleague}[data-occupied="true"]`, { timeout: 90000 });
    assert.notEqual((await (await session.find(`${colleague} [data-testid="park-caller"]`)).text()).trim(), '');
    assert.match(await (await session.find(`${own} [data-testid="park-countdown"]`)).text(), /^\d+:\d\d$/);
    await shot(session, 'team');

    await (await session.find(`${own} [data-testid="park-bridge"]`)).click();
    await session.waitFor(`${own}[data-occupied="false"]`, { timeout: 30000 });
  } finally {
    await session.quit();
  }
});
