// A small W3C WebDriver client over fetch, enough to drive the app through tauri-driver.
import { execFileSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';

const ELEMENT = 'element-6066-11e4-a52e-4f735466cecf';

export class WebDriverError extends Error {}

function elementId(v) {
  const id = v?.[ELEMENT] ?? v?.ELEMENT;
  if (!id) throw new WebDriverError(`no element in reply: ${JSON.stringify(v)}`);
  return id;
}

export class Session {
  constructor(base, id) {
    this.base = base;
    this.id = id;
  }

  static async start(base, application, args = []) {
    const body = {
      capabilities: {
        alwaysMatch: { 'tauri:options': { application, args } },
      },
    };
    const res = await request(base, 'POST', '/session', body);
    return new Session(base, res.sessionId ?? res.value?.sessionId);
  }

  cmd(method, path, body) {
    return request(this.base, method, `/session/${this.id}${path}`, body).then((r) => r.value);
  }

  async quit() {
    try {
      await request(this.base, 'DELETE', `/session/${this.id}`);
    } catch {
      /* the app may already be gone */
    }
  }

  async find(css) {
    const v = await this.cmd('POST', '/element', { using: 'css selector', value: css });
    return new Element(this, elementId(v));
  }

  async findAll(css) {
    const v = await this.cmd('POST', '/elements', { using: 'css selector', value: css });
    return v.map((e) => new Element(this, elementId(e)));
  }

  /** Wait until `css` matches an element (and `pred(el)` holds); returns it. */
  async waitFor(css, { timeout = 15000, pred } = {}) {
    const end = Date.now() + timeout;
    let last;
    while (Date.now() < end) {
      try {
        const el = await this.find(css);
        if (!pred || (await pred(el))) return el;
      } catch (e) {
        last = e;
      }
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new WebDriverError(`timed out waiting for ${css}: ${last?.message ?? 'predicate never held'}`);
  }

  /** Wait until the text of `css` satisfies `test` (a string to include or a RegExp). */
  async waitForText(css, test, timeout = 15000) {
    const ok = (s) => (typeof test === 'string' ? s.includes(test) : test.test(s));
    let seen = '';
    try {
      return await this.waitFor(css, {
        timeout,
        pred: async (el) => ok((seen = await el.text())),
      });
    } catch (e) {
      throw new WebDriverError(`${e.message}; last text: ${JSON.stringify(seen)}`);
    }
  }

  execute(script, args = []) {
    return this.cmd('POST', '/execute/sync', { script, args });
  }

  /** Run an async script: it gets a `done` callback as its last argument. */
  executeAsync(script, args = []) {
    return this.cmd('POST', '/execute/async', { script, args });
  }

  /** Wait until `fn` (run in the page, returning a value) returns something truthy; returns it. */
  async waitForScript(script, args = [], { timeout = 15000, what = script } = {}) {
    const end = Date.now() + timeout;
    let last;
    while (Date.now() < end) {
      try {
        const v = await this.execute(script, args);
        if (v) return v;
        last = v;
      } catch (e) {
        last = e.message;
      }
      await new Promise((r) => setTimeout(r, 150));
    }
    throw new WebDriverError(`timed out waiting for ${what}; last: ${JSON.stringify(last)}`);
  }

  /** Screenshot of the X display the window is on (WebKitWebDriver's own screenshot hangs
   * under Xvfb without compositing, so the display is captured with ImageMagick's `import`). */
  async screenshot(file) {
    mkdirSync(dirname(file), { recursive: true });
    await new Promise((r) => setTimeout(r, 150)); // let the last frame paint
    execFileSync('import', ['-window', 'root', file], { env: process.env, timeout: 15000 });
  }

  title() {
    return this.cmd('GET', '/title');
  }
}

export class Element {
  constructor(session, id) {
    this.s = session;
    this.id = id;
  }
  text() {
    return this.s.cmd('GET', `/element/${this.id}/text`);
  }
  /**
   * Click; while something transient covers the element (a toast sliding in, a card moving
   * under its flip animation) WebKitWebDriver answers "element click intercepted": try again
   * for up to 5 s, as a user would wait for it to move away.
   */
  async click() {
    const until = Date.now() + 5000;
    for (;;) {
      try {
        return await this.s.cmd('POST', `/element/${this.id}/click`, {});
      } catch (e) {
        if (!String(e?.message).includes('element click intercepted') || Date.now() > until) throw e;
        await new Promise((r) => setTimeout(r, 100));
      }
    }
  }
  attr(name) {
    return this.s.cmd('GET', `/element/${this.id}/attribute/${name}`);
  }
  prop(name) {
    return this.s.cmd('GET', `/element/${this.id}/property/${name}`);
  }
  type(text) {
    return this.s.cmd('POST', `/element/${this.id}/value`, { text });
  }
  displayed() {
    return this.s.cmd('GET', `/element/${this.id}/displayed`);
  }
  clear() {
    return this.s.cmd('POST', `/element/${this.id}/clear`, {});
  }
}

async function request(base, method, path, body) {
  const res = await fetch(base + path, {
    method,
    headers: { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  let json;
  try {
    json = JSON.parse(text);
  } catch {
    throw new WebDriverError(`${method} ${path}: HTTP ${res.status}: ${text.slice(0, 300)}`);
  }
  if (!res.ok || json.value?.error) {
    throw new WebDriverError(`${method} ${path}: ${json.value?.error}: ${json.value?.message ?? text.slice(0, 300)}`);
  }
  return json;
}
