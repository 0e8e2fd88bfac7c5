import { describe, expect, it } from 'vitest';
import {
  cleanNumber,
  formatCountdown,
  formatDateTime,
  formatDuration,
  formatPhone,
  formatSecs,
  fromDateInput,
  isDialable,
  maskUrl,
  secondsUntil,
  toDateInput,
} from './format';

describe('timers', () => {
  it('formats durations as m:ss and h:mm:ss', () => {
    expect(formatDuration(0)).toBe('0:00');
    expect(formatDuration(5_999)).toBe('0:05');
    expect(formatDuration(65_000)).toBe('1:05');
    expect(formatDuration(3_600_000 + 62_000)).toBe('1:01:02');
    expect(formatDuration(-4_000)).toBe('0:00');
  });

  it('counts down in whole seconds rounded up, never below zero', () => {
    expect(secondsUntil(10_000, 0)).toBe(10);
    expect(secondsUntil(10_000, 9_001)).toBe(1);
    expect(secondsUntil(10_000, 10_000)).toBe(0);
    expect(secondsUntil(10_000, 20_000)).toBe(0);
    expect(formatCountdown(180_000, 0)).toBe('3:00');
    expect(formatCountdown(180_000, 0.5)).toBe('3:00');
    expect(formatCountdown(180_000, 1_000)).toBe('2:59');
  });

  it('shows a missing talk time as a dash', () => {
    expect(formatSecs(null)).toBe('—');
    expect(formatSecs(125)).toBe('2:05');
  });
});

describe('phone numbers', () => {
  it('groups Russian numbers and keeps the rest', () => {
    expect(formatPhone('+79161234567')).toBe('+7 916 123-45-67');
    expect(formatPhone('74951234567')).toBe('+7 495 123-45-67');
    expect(formatPhone('89161234567')).toBe('8 916 123-45-67');
    expect(formatPhone('9161234567')).toBe('+7 916 123-45-67');
    expect(formatPhone('+7 (916) 123-45-67')).toBe('+7 916 123-45-67');
    expect(formatPhone('101')).toBe('101');
    expect(formatPhone('+441234567890')).toBe('+441234567890');
    expect(formatPhone('anonymous')).toBe('anonymous');
    expect(formatPhone(null)).toBe('');
  });

  it('cleans what is sent and checks it is dialable', () => {
    expect(cleanNumber('+7 (916) 123-45-67')).toBe('+79161234567');
    expect(cleanNumber('*21#')).toBe('*21#');
    expect(isDialable('+7 (916) 123-45-67')).toBe(true);
    expect(isDialable('101')).toBe(true);
    expect(isDialable('')).toBe(false);
    expect(isDialable('abc')).toBe(false);
    expect(isDialable('12a')).toBe(false);
    expect(isDialable('1'.repeat(40))).toBe(false);
  });
});

describe('dates and urls', () => {
  it('shows today as a time and other days with the date', () => {
    const now = new Date(2026, 10, 21, 15, 0).getTime();
    expect(formatDateTime(new Date(2026, 10, 21, 9, 5).getTime(), now)).toBe('09:05');
    expect(formatDateTime(new Date(2026, 10, 20, 9, 5).getTime(), now)).toBe('20.11.2026 09:05');
  });

  it('round-trips date inputs to the start or end of the local day', () => {
    const ms = new Date(2026, 0, 5, 13, 30).getTime();
    expect(toDateInput(ms)).toBe('2026-01-05');
    expect(fromDateInput('2026-01-05')).toBe(new Date(2026, 0, 5).getTime());
    expect(fromDateInput('2026-01-05', true)).toBe(new Date(2026, 0, 6).getTime());
    expect(fromDateInput('nope')).toBeNull();
  });

  it('masks the secret path token of listener URLs', () => {
    expect(maskUrl('http://127.0.0.1:34741/hooks/AbCdEf0123456789/calls')).toBe('http://127.0.0.1:34741/hooks/••••••/calls');
    expect(maskUrl('http://127.0.0.1:34741/health')).toBe('http://127.0.0.1:34741/health');
  });
});
