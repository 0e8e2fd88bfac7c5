// The supervisor's team board: live team calls (Telphin current calls) and their parked calls.
import type { ParkedCall } from '../bindings/ParkedCall';
import type { TeamAction } from '../bindings/TeamAction';
import type { TelphinCurrentCall } from '../bindings/TelphinCurrentCall';

/** Telphin's `YYYY-MM-DD HH:MM:SS` (GMT) as ms since the epoch; `null` when absent or unreadable. */
export function parseGmt(s: string | null | undefined): number | null {
  const m = /^(\d{4})-(\d{2})-(\d{2})[ T](\d{2}):(\d{2}):(\d{2})/.exec(s ?? '');
  if (!m) return null;
  return Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]), Number(m[4]), Number(m[5]), Number(m[6]));
}

/** A team call is ringing until the platform reports its answer time. */
export function isRinging(c: TelphinCurrentCall): boolean {
  return !c.answer_time_gmt;
}

/** What a supervisor may do with a team call: pick up a ringing one, join a talking one. */
export function teamActions(c: TelphinCurrentCall): TeamAction[] {
  return isRinging(c) ? ['pickup'] : ['eavesdrop', 'whisper', 'conference'];
}

/** The extension a team call belongs to, for display: its name (`prefix*101@domain` → `101`) or id. */
export function teamExtension(c: TelphinCurrentCall): string {
  const name = c.called_extension?.name ?? c.caller_extension?.name ?? null;
  if (name) {
    const m = /\*(\w+)@/.exec(name);
    return m ? m[1] : name;
  }
  return c.extension_id ?? '';
}

/** The caller of a team call: name and number as the platform gave them. */
export function teamCaller(c: TelphinCurrentCall): { name: string | null; number: string } {
  return { name: c.caller_id_name, number: c.caller_id_number ?? '' };
}

/** The live team call sitting in a parking slot (matched by the uuid part of its handle). */
export function parkedTeamCall(p: ParkedCall, calls: TelphinCurrentCall[]): TelphinCurrentCall | null {
  const uuid = p.call_uuid ?? null;
  return (
    calls.find(
      (c) => (p.call_api_id && c.call_api_id === p.call_api_id) || (uuid && c.call_api_id.endsWith(uuid)),
    ) ?? null
  );
}
