// Pure formatting helpers: timers, countdowns, phone numbers, dates. No Svelte, no Tauri.

/** `m:ss` below an hour, `h:mm:ss` above; negative spans count as zero. */
export function formatDuration(ms: number): string {
  const total = Math.max(0, Math.floor(ms / 1000));
  const h = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  const s = total % 60;
  const ss = String(s).padStart(2, '0');
  return h > 0 ? `${h}:${String(m).padStart(2, '0')}:${ss}` : `${m}:${ss}`;
}

/** Whole seconds from `now` until `deadlineMs`, rounded up (a countdown shows 0:01 until it is due). */
export function secondsUntil(deadlineMs: number, now: number): number {
  return Math.max(0, Math.ceil((deadlineMs - now) / 1000));
}

/** A countdown to `deadlineMs` as `m:ss`. */
export function formatCountdown(deadlineMs: number, now: number): string {
  return formatDuration(secondsUntil(deadlineMs, now) * 1000);
}

/** Seconds as a talk duration (`null` → `—`). */
export function formatSecs(secs: number | null | undefined): string {
  return secs === null || secs === undefined ? '—' : formatDuration(secs * 1000);
}

/**
 * A phone number for reading: Russian numbers (`+7…`, `8…`, `7…` with 11 digits) grouped as
 * `+7 916 123-45-67`; short extensions and anything unrecognised are returned as given.
 */
export function formatPhone(raw: string | null | undefined): string {
  if (!raw) return '';
  const s = raw.trim();
  if (!/^[+\d][\d\s()-]*$/.test(s)) return s;
  const digits = s.replace(/\D/g, '');
  if (digits.length === 11 && (digits[0] === '7' || digits[0] === '8')) {
    const lead = digits[0] === '8' && !s.startsWith('+') ? '8' : '+7';
    return `${lead} ${digits.slice(1, 4)} ${digits.slice(4, 7)}-${digits.slice(7, 9)}-${digits.slice(9)}`;
  }
  if (digits.length === 10 && digits[0] === '9') {
    return `+7 ${digits.slice(0, 3)} ${digits.slice(3, 6)}-${digits.slice(6, 8)}-${digits.slice(8)}`;
  }
  return s;
}

/** Only what a number can contain (digits, `+`, `*`, `#`), for sending to the engine. */
export function cleanNumber(raw: string): string {
  return raw.replace(/[^\d+*#]/g, '');
}

/** A plausible number to dial or transfer to (1–32 characters of digits, `+`, `*`, `#`). */
export function isDialable(raw: string): boolean {
  const n = cleanNumber(raw);
  return /\d/.test(n) && n.length <= 32 && /^[\d+*#\s()-]+$/.test(raw.trim());
}

const pad = (n: number) => String(n).padStart(2, '0');

/** `HH:MM:SS` in local time. */
export function formatClock(ms: number): string {
  const d = new Date(ms);
  return `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
}

/** `DD.MM.YYYY HH:MM` in local time (today: just `HH:MM`). */
export function formatDateTime(ms: number, now: number = Date.now()): string {
  const d = new Date(ms);
  const n = new Date(now);
  const hm = `${pad(d.getHours())}:${pad(d.getMinutes())}`;
  if (d.getFullYear() === n.getFullYear() && d.getMonth() === n.getMonth() && d.getDate() === n.getDate()) {
    return hm;
  }
  return `${pad(d.getDate())}.${pad(d.getMonth() + 1)}.${d.getFullYear()} ${hm}`;
}

/** `YYYY-MM-DD` (for `<input type="date">`) of a local date, and back to the start of that day. */
export function toDateInput(ms: number): string {
  const d = new Date(ms);
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}`;
}

export function fromDateInput(value: string, endOfDay = false): number | null {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(value);
  if (!m) return null;
  const d = new Date(Number(m[1]), Number(m[2]) - 1, Number(m[3]));
  if (endOfDay) d.setDate(d.getDate() + 1);
  return d.getTime();
}

/** A secret-bearing URL with its path token masked: `http://h:1/hooks/••••••/calls`. */
export function maskUrl(url: string): string {
  return url.replace(/\/hooks\/[^/]+/, '/hooks/••••••');
}
