// History filters as the view keeps them, and their translation into the engine's `CallFilter`.
import type { CallFilter } from '../bindings/CallFilter';
import type { Direction } from '../bindings/Direction';
import type { Outcome } from '../bindings/Outcome';
import { fromDateInput } from './format';

export type HistoryFilters = {
  text: string;
  direction: Direction | '';
  outcome: Outcome | '';
  from: string;
  to: string;
  missedOnly: boolean;
};

export const EMPTY_FILTERS: HistoryFilters = { text: '', direction: '', outcome: '', from: '', to: '', missedOnly: false };

export const OUTCOMES: Outcome[] = ['answered', 'missed', 'busy', 'rejected', 'cancelled', 'failed', 'unavailable'];
export const DIRECTIONS: Direction[] = ['inbound', 'outbound', 'internal'];

/** Full-text search needs 3+ characters per word (a phone number counts as one word). */
export const MIN_SEARCH_CHARS = 3;

/** Whether the engine will accept this search text (empty means "no search"). */
export function searchProblem(text: string): 'short' | null {
  const t = text.trim();
  if (!t) return null;
  if (/^[\d\s+\-().]+$/.test(t)) return t.replace(/\D/g, '').length >= MIN_SEARCH_CHARS ? null : 'short';
  return t.split(/\s+/).every((w) => [...w].length >= MIN_SEARCH_CHARS) ? null : 'short';
}

export function toCallFilter(f: HistoryFilters): CallFilter {
  const text = f.text.trim();
  return {
    from_ms: f.from ? fromDateInput(f.from) : null,
    to_ms: f.to ? fromDateInput(f.to, true) : null,
    direction: f.direction || null,
    outcomes: f.outcome ? [f.outcome] : [],
    missed_only: f.missedOnly,
    extension: null,
    source: null,
    number: null,
    text: text && !searchProblem(text) ? text : null,
  };
}

export function filtersActive(f: HistoryFilters): boolean {
  return !!(f.text.trim() || f.direction || f.outcome || f.from || f.to || f.missedOnly);
}
