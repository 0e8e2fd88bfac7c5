// Settings: keys the administrator locked in the provisioning file are read-only with the
// reason; the Call Interactive rules editor adds a rule, previews its XML reply, saves it (it
// survives a reload) and checks a reply XML.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { rmSync, writeFileSync } from 'node:fs';
import { launch } from './lib/app.mjs';
import { openTab, ready, shot } from './lib/panel.mjs';

test('locked keys are read-only; IVR rules are edited, previewed, saved and checked', async () => {
  const provisioning = process.env.CTI_PANEL_PROVISIONING;
  assert.ok(provisioning, 'run through tests/e2e/run.sh (it sets CTI_PANEL_PROVISIONING)');
  writeFileSync(provisioning, 'locked = ["ui.theme"]\n\n[ui]\ntheme = "light"\n');
  const { session } = await launch({ config: '[ui]\nlanguage = "en"\n' });
  try {
    await ready(session, ['listener']);
    await openTab(session, 'settings');
    const theme = await session.waitFor('[data-testid="theme-select"]');
    assert.equal(await theme.prop('disabled'), true);
    const note = await session.waitFor('[data-testid="locked-ui.theme"]');
    assert.match(await note.text(), /Locked by the administrator/);
    assert.ok((await note.text()).includes(provisioning));
    assert.equal(await (await session.find('[data-testid="language-select"]')).prop('disabled'), false);

    // A new rule: calls from +7916… go to 101 and 102.
    const editor = '[data-testid="rules-editor"]';
    await (await session.waitFor(`${editor} button[aria-label="Add rule"]`)).click();
    await (await session.waitFor(`${editor} input[aria-label="Name"]`)).type('Mobile callers');
    await (await session.find(`${editor} button[aria-label="Add condition"]`)).click();
    await (await session.waitFor(`${editor} input[aria-label="Value"]`)).type('+7916');
    await (await session.find(`${editor} input[aria-label="Numbers, comma-separated"]`)).type('101, 102');
    await session.waitForText('[data-testid="rule-xml"]', '102', 20000);
    assert.match(await (await session.find('[data-testid="rule-xml"]')).text(), /<Response>[\s\S]*101[\s\S]*102/);
    await (await session.find(`${editor} button[aria-label="Save rules"]`)).click();
    await session.waitForText(editor, 'Rules saved', 20000);
    await shot(session, 'settings-rules');

    // Saved: after a reload the rule is still there.
    await session.execute('window.__beforeReload = true; location.reload(); return 1');
    await session.waitForScript('return !window.__beforeReload', [], { timeout: 30000, what: 'page reloaded' });
    await session.waitFor(`${editor} button[aria-label="Edit rule Mobile callers"]`, { timeout: 30000 });

    // The reply checker reads an XML reply the way the listener would send it.
    await (await session.waitFor(`${editor} textarea[aria-label="Reply XML to check"]`)).type('<Response><Hangup/></Response>');
    await (await session.find(`${editor} button[aria-label="Check"]`)).click();
    await session.waitForText(editor, 'Valid, actions: 1.', 20000);
  } finally {
    await session.quit();
    rmSync(provisioning, { force: true });
  }
});
