// IVR: take control of an Era IVR session that offers it, play a file, see the caller's DTMF
// live, release it back to the script.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { launch, ROOT } from './lib/app.mjs';
import { cropForDocs, openTab, ready, SCENARIO, shot } from './lib/panel.mjs';

test('take control of an IVR session, play a file, see DTMF, release', async () => {
  const { session } = await launch({ config: '[ui]\nlanguage = "en"\ntheme = "light"\n' });
  try {
    await ready(session);
    await openTab(session, 'ivr');
    // The demo puts a caller into IVR 800 at 25 s; the session offers external control.
    const c = `[data-testid="ivr-session"][data-caller="${SCENARIO.ivrCaller}"]`;
    await session.waitFor(`${c}[data-state="offered"]`, { timeout: 60000 });
    await (await session.find(`${c} [data-testid="ivr-take"]`)).click();
    await session.waitFor(`${c}[data-state="controlled"]`, { timeout: 20000 });

    await (await session.find(`${c} [data-testid="ivr-play"]`)).click();
    await session.waitForText(`${c} [data-testid="ivr-running"]`, 'playing :GS_PUB/demo/hello.wav', 20000);

    // The caller presses 1 while the panel holds the session.
    await session.waitFor(`${c} [data-testid="ivr-dtmf"][data-digits="1"]`, { timeout: 30000 });
    assert.match(await (await session.find(`${c} [data-testid="ivr-dtmf"]`)).text(), /1/);
    await session.waitFor(`${c} [data-testid="ivr-result"]`, { timeout: 30000 });
    cropForDocs(await shot(session, 'ivr-controlled'), join(ROOT, 'docs/screenshots/ivr.png'));

    await (await session.find(`${c} [data-testid="ivr-release"]`)).click();
    await session.waitFor(`${c}[data-state="released"], ${c}[data-state="stopped"]`, { timeout: 20000 });
  } finally {
    await session.quit();
  }
});
