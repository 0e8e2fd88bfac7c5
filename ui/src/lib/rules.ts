// Building blocks of the IVR rules editor: defaults for new conditions and actions, and the
// text forms of list values. Pure, unit-tested.
import type { Action } from '../bindings/Action';
import type { Condition } from '../bindings/Condition';
import type { IvrRule } from '../bindings/IvrRule';
import type { TextTest } from '../bindings/TextTest';
import type { Weekday } from '../bindings/Weekday';

export type ConditionField = Condition['field'];
export type ActionKind = Action['action'];
export type TestOp = TextTest['op'];

export const CONDITION_FIELDS: ConditionField[] = [
  'caller_number',
  'caller_name',
  'did',
  'called_number',
  'variable',
  'time_of_day',
  'weekday',
];
export const ACTION_KINDS: ActionKind[] = ['simple_transfer', 'play_sound', 'hangup', 'pause', 'set_var', 'jump', 'set_caller'];
export const TEST_OPS: TestOp[] = ['equals', 'prefix', 'suffix', 'contains', 'one_of', 'present', 'absent'];
export const WEEKDAYS: Weekday[] = ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'];

export function newCondition(field: ConditionField): Condition {
  switch (field) {
    case 'variable':
      return { field, name: '', test: { op: 'equals', value: '' } };
    case 'time_of_day':
      return { field, from: '09:00', to: '18:00' };
    case 'weekday':
      return { field, days: ['mon', 'tue', 'wed', 'thu', 'fri'] };
    default:
      return { field, test: { op: field === 'caller_name' ? 'contains' : 'prefix', value: '' } };
  }
}

export function newTest(op: TestOp, previous?: TextTest): TextTest {
  const old = previous && 'value' in previous ? previous.value : '';
  const text = Array.isArray(old) ? old.join(', ') : old;
  switch (op) {
    case 'present':
    case 'absent':
      return { op };
    case 'one_of':
      return { op, value: splitList(text) };
    default:
      return { op, value: text };
  }
}

export function newAction(kind: ActionKind): Action {
  switch (kind) {
    case 'hangup':
      return { action: 'hangup' };
    case 'pause':
      return { action: 'pause', length: 1 };
    case 'set_var':
      return { action: 'set_var', name: '', value: '' };
    case 'jump':
      return { action: 'jump', context: '', option: '' };
    case 'set_caller':
      return { action: 'set_caller', name: null, number: null };
    case 'play_sound':
      return { action: 'play_sound', file: '', where: null, digitvar: null };
    case 'simple_transfer':
      return { action: 'simple_transfer', numbers: [], final: null, timeout: null, early_media: null };
  }
}

export function newRule(existing: IvrRule[]): IvrRule {
  let n = existing.length + 1;
  const ids = new Set(existing.map((r) => r.id));
  while (ids.has(`rule-${n}`)) n++;
  return { id: `rule-${n}`, name: '', enabled: true, when: [], actions: [newAction('simple_transfer')], ask_agent_ms: null };
}

/** "101, 102 ,103" → ["101", "102", "103"]. */
export function splitList(text: string): string[] {
  return text
    .split(/[,;\n]/)
    .map((s) => s.trim())
    .filter(Boolean);
}

export function joinList(items: string[] | null | undefined): string {
  return (items ?? []).join(', ');
}

/** Move item `i` by `delta` (−1 up, +1 down); out-of-range moves change nothing. */
export function move<T>(list: T[], i: number, delta: number): T[] {
  const j = i + delta;
  if (i < 0 || i >= list.length || j < 0 || j >= list.length) return list;
  const next = [...list];
  [next[i], next[j]] = [next[j], next[i]];
  return next;
}

/** An optional number field from an input: empty → null. */
export function optionalNumber(text: string): number | null {
  const t = text.trim();
  if (!t) return null;
  const n = Number(t);
  return Number.isFinite(n) ? n : null;
}
