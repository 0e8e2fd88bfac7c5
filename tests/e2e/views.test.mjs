// Every main view with live demo data: screenshots in light and dark, then the language switch
// to Russian leaves no English UI word on any view (names, numbers and platform data aside).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { launch, ROOT } from './lib/app.mjs';
import {
  cropForDocs,
  englishWords,
  openTab,
  ownLiveCall,
  parkFromCard,
  ready,
  setLanguage,
  setTheme,
  shot,
  visibleText,
} from './lib/panel.mjs';

const VIEWS = ['calls', 'parking', 'ivr', 'history', 'inspector', 'settings'];
const DOCS = join(ROOT, 'docs/screenshots');

/** Put the view into a state worth looking at (a selected history row, an inspector entry). */
async function prepare(session, view) {
  await openTab(session, view);
  if (view === 'history') {
    const row = await session.waitFor('[data-testid="history-row"]', { timeout: 20000 });
    await row.click();
    await session.waitFor('[data-testid="call-details"]');
  } else if (view === 'inspector') {
    const entry = await session.waitFor('[data-testid="inspector-request"]', { timeout: 20000 });
    await entry.click();
  }
  await new Promise((r) => setTimeout(r, 400));
}

describe('main views', () => {
  let session;
  before(async () => {
    ({ session } = await launch({ config: '[ui]\nlanguage = "en"\ntheme = "light"\n' }));
    await ready(session);
    // Something on every view: a parked call, the demo's IVR offer and missed call, a call
    // ringing the agent's phone, the demo's first call talking.
    await ownLiveCall(session, '+74956407080');
    await parkFromCard(session, '+74956407080', 6);
    await openTab(session, 'parking');
    await session.waitFor('[data-testid="park-slot-6"][data-occupied="true"]', { timeout: 30000 });
    await openTab(session, 'ivr');
    await session.waitFor('[data-testid="ivr-session"][data-state="offered"]', { timeout: 60000 });
    await session.waitFor('[data-testid="badge-history"]', { timeout: 60000 });
    await openTab(session, 'calls');
    await (await session.find('[data-testid="dial-input"]')).type('+78005553535');
    await (await session.find('[data-testid="dial-button"]')).click();
    await session.waitFor('[data-testid="call-card"][data-number="+78005553535"]', { timeout: 20000 });
  });
  after(async () => session?.quit());

  test('screenshots of every view, light and dark', async () => {
    mkdirSync(DOCS, { recursive: true });
    for (const theme of ['light', 'dark']) {
      await setTheme(session, theme);
      for (const view of VIEWS) {
        await prepare(session, view);
        const file = await shot(session, `${view}-${theme}`);
        // README pictures (the IVR one comes from the IVR test, with a session under control).
        if (theme === 'light' && ['calls', 'parking', 'history'].includes(view)) {
          cropForDocs(file, join(DOCS, `${view}.png`));
        }
      }
    }
    await setTheme(session, 'light');
  });

  test('in Russian no view shows an English UI word', async () => {
    await setLanguage(session, 'ru');
    await session.waitForText('header h1', 'CTI-панель');
    const problems = {};
    for (const view of VIEWS) {
      await prepare(session, view);
      const words = englishWords(await visibleText(session));
      if (words.length) problems[view] = words;
      await shot(session, `${view}-ru`);
    }
    assert.deepEqual(problems, {});
  });
});
