// Every main view with live demo data: screenshots in light and dark, then the language switch
// to Russian leaves no English UI word on any view (names, numbers and platform data aside).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { launch, ROOT } from './lib/app.mjs';
import {
  choose,
  cropForDocs,
  demoCall,
  englishWords,
  openTab,
  ready,
  setLanguage,
  setTheme,
  shot,
  uniqueNumber,
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
    await session.waitForText('[data-testid="conn-telphin"]', 'connected', 30000);
    // Something on every view: a ringing call, a parked call, an IVR offer, a missed call.
    const parked = uniqueNumber();
    await demoCall(session, 'answered', parked);
    const card = `[data-testid="call-card"][data-number="${parked}"]`;
    await session.waitFor(`${card}[data-phase="active"]`, { timeout: 30000 });
    await (await session.find(`${card} [data-testid="park-open"]`)).click();
    await choose(session, `${card} [data-testid="park-slot-select"]`, '6');
    await (await session.find(`${card} [data-testid="park-confirm"]`)).click();
    await demoCall(session, 'missed', uniqueNumber());
    await demoCall(session, 'ivr', uniqueNumber());
    await demoCall(session, 'answered', uniqueNumber());
    await demoCall(session, 'incoming', uniqueNumber());
    await openTab(session, 'ivr');
    await session.waitFor('[data-testid="ivr-session"][data-state="offered"]', { timeout: 30000 });
    await openTab(session, 'calls');
    await session.waitFor('[data-testid="call-card"][data-phase="ringing"]', { timeout: 30000 });
  });
  after(async () => session?.quit());

  test('screenshots of every view, light and dark', async () => {
    mkdirSync(DOCS, { recursive: true });
    for (const theme of ['light', 'dark']) {
      await setTheme(session, theme);
      for (const view of VIEWS) {
        await prepare(session, view);
        const file = await shot(session, `${view}-${theme}`);
        if (theme === 'light' && ['calls', 'parking', 'ivr', 'history'].includes(view)) {
          cropForDocs(file, join(DOCS, `${view}.png`));
        }
        if (theme === 'dark' && view === 'calls') cropForDocs(file, join(DOCS, 'calls-dark.png'));
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
