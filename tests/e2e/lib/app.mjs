// Starts the real app window through tauri-driver for one test, with its own config dir.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Session } from './webdriver.mjs';

export const ROOT = resolve(import.meta.dirname, '../../..');
export const APP = process.env.CTI_E2E_APP ?? join(ROOT, 'target/debug/cti-panel');
export const DRIVER = process.env.CTI_E2E_DRIVER ?? 'http://127.0.0.1:4444';
export const SHOTS = join(ROOT, 'target/e2e-screenshots');

/** Launch the app; `config` is TOML written to a fresh user config file. */
export async function launch({ config = '', args = ['--demo'] } = {}) {
  const dir = mkdtempSync(join(tmpdir(), 'cti-e2e-'));
  const cfg = join(dir, 'config.toml');
  writeFileSync(cfg, config);
  const session = await Session.start(DRIVER, APP, ['--config', cfg, ...args]);
  return { session, dir, cfg };
}
