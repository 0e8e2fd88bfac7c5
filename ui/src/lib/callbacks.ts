// The team's callback list: which items are open, whose claim it is, in what order to show them.
import type { CallbackItem } from '../bindings/CallbackItem';

export type CallbackState = 'open' | 'claimed_by_me' | 'claimed' | 'closed';

export function callbackState(c: CallbackItem, me: string | null): CallbackState {
  if (c.closed) return 'closed';
  if (c.claimed_by) return me && c.claimed_by === me ? 'claimed_by_me' : 'claimed';
  return 'open';
}

/** Open and claimed items first (most recent miss first), closed ones last. */
export function sortCallbacks(items: CallbackItem[]): CallbackItem[] {
  return [...items].sort((a, b) => Number(!!a.closed) - Number(!!b.closed) || b.last_missed_ms - a.last_missed_ms);
}

export function openCount(items: CallbackItem[] | null): number {
  return (items ?? []).filter((c) => !c.closed).length;
}
