// Security of the built app's web view: the Content-Security-Policy the app serves is present
// and strict, and the web view enforces it (no inline script, no eval, no request to anything but
// the app's own IPC); no global Tauri object; prototypes frozen.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { launch } from './lib/app.mjs';
import { ready } from './lib/panel.mjs';

/** `directive -> [sources]` of a CSP string. */
function parseCsp(text) {
  const out = new Map();
  for (const part of text.split(';')) {
    const [name, ...sources] = part.trim().split(/\s+/);
    if (name) out.set(name.toLowerCase(), sources);
  }
  return out;
}

test('the built app serves a strict CSP and the web view enforces it', async () => {
  const { session } = await launch({ config: '[ui]\nlanguage = "en"\n' });
  try {
    await ready(session);
    // Tauri sends the CSP of tauri.conf.json (plus hashes of its own scripts) as a header of the
    // app's pages; the web view reports it with every violation (securitypolicyviolation's
    // originalPolicy). Provoke violations, check they were refused, and read the policy back.
    const seen = await session.executeAsync(
      `const done = arguments[arguments.length - 1];
       const r = { violations: [] };
       document.addEventListener('securitypolicyviolation', (e) => {
         r.violations.push({ directive: e.effectiveDirective, policy: e.originalPolicy });
       });
       try { r.fn = new Function('return 41 + 1')(); } catch (e) { r.fn = e.name; }
       try { r.eval = eval('41 + 1'); } catch (e) { r.eval = e.name; }
       const s = document.createElement('script');
       s.textContent = 'window.__inlineRan = true';
       document.head.appendChild(s);
       r.inline = window.__inlineRan === true;
       r.tauriGlobal = typeof window.__TAURI__;
       r.frozen = Object.isFrozen(Object.prototype);
       // Loopback, where the webhook listener or anything else could answer.
       fetch('http://127.0.0.1:9/').then(() => 'loaded', (e) => e.name).then((f) => {
         r.fetch = f;
         setTimeout(() => done(r), 200);
       });`,
    );
    assert.equal(seen.fn, 'EvalError', 'new Function refused');
    assert.equal(seen.eval, 'EvalError', 'eval refused');
    assert.equal(seen.inline, false, 'an injected inline script does not run');
    assert.equal(seen.tauriGlobal, 'undefined', 'no global Tauri object');
    assert.equal(seen.frozen, true, 'Object.prototype frozen');
    assert.equal(seen.fetch, 'TypeError', 'a request outside connect-src is refused');
    const directives = new Set(seen.violations.map((v) => v.directive));
    for (const d of ['script-src', 'connect-src']) {
      assert.ok(directives.has(d), `a ${d} violation was reported: ${JSON.stringify(seen.violations)}`);
    }
    const policies = new Set(seen.violations.map((v) => v.policy));
    assert.equal(policies.size, 1, `one policy: ${[...policies].join(' | ')}`);
    const text = [...policies][0];
    const csp = parseCsp(text);
    for (const d of ['default-src', 'script-src']) {
      assert.ok(csp.has(d), `${d} present: ${text}`);
      // 'self' plus the hashes Tauri adds for its own bundled scripts; nothing else.
      for (const s of csp.get(d)) {
        assert.ok(s === "'self'" || /^'(sha(256|384|512)|nonce)-/.test(s), `${d} allows ${s}`);
      }
    }
    for (const d of ['object-src', 'base-uri', 'frame-ancestors']) {
      assert.deepEqual(csp.get(d), ["'none'"], `${d}: ${text}`);
    }
    assert.deepEqual(csp.get('connect-src'), ['ipc:', 'http://ipc.localhost'], text);
    for (const [d, sources] of csp) {
      for (const bad of ['*', "'unsafe-eval'", 'http:', 'https:', 'ws:', 'wss:']) {
        assert.ok(!sources.includes(bad), `${d} allows ${bad}`);
      }
      if (d !== 'style-src') assert.ok(!sources.includes("'unsafe-inline'"), `${d} allows 'unsafe-inline'`);
    }
  } finally {
    await session.quit();
  }
});
