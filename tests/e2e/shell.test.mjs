// The app window opens, shows its shell, and the language switch changes every visible string.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { launch, SHOTS } from './lib/app.mjs';

const NAV_EN = ['Calls', 'Settings'];
const NAV_RU = ['Звонки', 'Настройки'];

test('window shows the panel and switches language', async () => {
  const { session } = await launch({ config: '[ui]\nlanguage = "en"\n' });
  try {
    const h1 = await session.waitForText('header h1', 'CTI Panel');
    assert.equal(await h1.text(), 'CTI Panel');
    await session.waitFor('[data-testid="demo-badge"]');
    const tabs = await session.findAll('nav button');
    assert.deepEqual(await Promise.all(tabs.map((t) => t.text())), NAV_EN);
    await session.screenshot(join(SHOTS, 'shell-en.png'));

    await (await session.find('[data-testid="tab-settings"]')).click();
    const select = await session.waitFor('[data-testid="language-select"]');
    await (await session.find('[data-testid="language-select"] option[value="ru"]')).click();
    await session.waitForText('header h1', 'CTI-панель');
    const ru = await session.findAll('nav button');
    assert.deepEqual(await Promise.all(ru.map((t) => t.text())), NAV_RU);
    assert.equal(await select.prop('value'), 'ru');
    assert.equal(await session.title(), 'CTI-панель');
    await session.screenshot(join(SHOTS, 'settings-ru.png'));
  } finally {
    await session.quit();
  }
});
