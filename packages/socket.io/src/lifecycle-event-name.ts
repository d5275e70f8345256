import type { CallEvent } from '@calltrack/core';
import type { CallLifecycleEventName } from './call-track-protocol';

const startTypes = new Set(['call.initiated', 'call.ringing', 'call.answered']);
const statusTypes = new Set([...startTypes, 'call.status_changed']);

/**
 * Which lifecycle event, if any, accompanies `call_update` for an event. Decided from the event
 * alone, so every node and every replay agree:
 * - `call:completed` for `call.ended`;
 * - `call:started` for the call's first status event: a `call.initiated`, `call.ringing` or
 *   `call.answered` whose tracker snapshot (`event.data.call`) has `version` 1, i.e. the first
 *   change the tracker applied to the call. Without a snapshot (events published to the bus
 *   directly), `call.initiated` starts a call;
 * - `call:status_updated` for the other status events (`call.status_changed` included).
 */
export function lifecycleEventName(event: CallEvent): CallLifecycleEventName | undefined {
  if (event.type === 'call.ended') return 'call:completed';
  if (!statusTypes.has(event.type)) return undefined;
  if (startTypes.has(event.type)) {
    const call = (event.data as { call?: unknown }).call;
    const version =
      call !== null && typeof call === 'object'
        ? (call as { version?: unknown }).version
        : undefined;
    const started = typeof version === 'number' ? version === 1 : event.type === 'call.initiated';
    if (started) return 'call:started';
  }
  return 'call:status_updated';
}
