import type { UserPresence } from '@calltrack/core';
import { encodeSseBytes } from './encode-sse-bytes';
import { encodeSseFrame } from './encode-sse-frame';

/**
 * Encodes `event: presence`, `data: {"members": UserPresence[]}`: the tenant's connected users
 * when the stream started (or reloaded); the `presence.*` events that follow are the diffs.
 */
export function encodePresenceFrame(members: readonly UserPresence[]): Uint8Array {
  return encodeSseBytes(encodeSseFrame({ event: 'presence', data: JSON.stringify({ members }) }));
}
