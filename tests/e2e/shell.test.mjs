// The app window opens, shows its shell (connections, views), and the language switch changes
// the navigation and the window title.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { launch } from './lib/app.mjs';
import { choose, openTab, ready, shot } from './lib/panel.mjs';

const NAV_EN = ['Calls', 'Parking', 'IVR', 'History', 'Inspector', 'Settings'];
const NAV_RU = ['Звонки', 'Парковка', 'IVR', 'История', 'Инспектор', 'Настройки'];

async function navLabels(session) {
  const tabs = await session.findAll('nav [role="tab"] .tab-label');
  return Promise.all(tabs.map((t) => t.text()));
}

test('window shows the panel and switches language', async () => {
  const { session } = await launch({ config: '[ui]\nlanguage = "en"\ntheme = "light"\n' });
  try {
    const h1 = await session.waitForText('header h1', 'CTI Panel', 30000);
    assert.equal(await h1.text(), 'CTI Panel');
    await session.waitFor('[data-testid="demo-badge"]');
    await ready(session);
    assert.deepEqual(await navLabels(session), NAV_EN);
    // The demo connects to the simulator: every connection reaches "connected".
    for (const p of ['era', 'telphin', 'listener']) {
      await session.waitForText(`[data-testid="conn-${p}"]`, 'connected', 30000);
    }
    await shot(session, 'shell-en');

    await openTab(session, 'settings');
    const select = await session.waitFor('[data-testid="language-select"]');
    await choose(session, '[data-testid="language-select"]', 'ru');
    await session.waitForText('header h1', 'CTI-панель');
    assert.deepEqual(await navLabels(session), NAV_RU);
    assert.equal(await select.prop('value'), 'ru');
    assert.equal(await session.title(), 'CTI-панель');
    await session.waitForText('[data-testid="conn-era"]', 'подключено');

    // The active view survives a reload of the page (sessionStorage), the data is re-fetched.
    await session.execute('window.__beforeReload = true; location.reload(); return 1');
    await session.waitForScript('return !window.__beforeReload', [], { timeout: 30000, what: 'page reloaded' });
    await session.waitFor('[data-testid="tab-settings"][aria-selected="true"]', { timeout: 30000 });
    await session.waitForText('header h1', 'CTI-панель');
    await shot(session, 'settings-ru');
  } finally {
    await session.quit();
  }
});
