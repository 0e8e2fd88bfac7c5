// UI-only state that survives a reload: recent numbers (localStorage, across sessions) and view
// state such as the active tab (sessionStorage, this window only). Never engine data.

function store(kind: 'local' | 'session'): Storage | null {
  try {
    return kind === 'local' ? globalThis.localStorage : globalThis.sessionStorage;
  } catch {
    return null;
  }
}

export function loadJson<T>(kind: 'local' | 'session', key: string, fallback: T): T {
  try {
    const raw = store(kind)?.getItem(key);
    return raw ? (JSON.parse(raw) as T) : fallback;
  } catch {
    return fallback;
  }
}

export function saveJson(kind: 'local' | 'session', key: string, value: unknown): void {
  try {
    store(kind)?.setItem(key, JSON.stringify(value));
  } catch {
    /* storage full or unavailable: UI state is a convenience only */
  }
}

const RECENT_KEY = 'cti.recentNumbers';
export const RECENT_MAX = 12;

/** Numbers dialled or transferred to, newest first, without duplicates. */
export function recentNumbers(): string[] {
  const v = loadJson<unknown>('local', RECENT_KEY, []);
  return Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : [];
}

/** Remember a number as the newest; returns the new list. */
export function rememberNumber(number: string): string[] {
  const n = number.trim();
  if (!n) return recentNumbers();
  const list = [n, ...recentNumbers().filter((x) => x !== n)].slice(0, RECENT_MAX);
  saveJson('local', RECENT_KEY, list);
  return list;
}
