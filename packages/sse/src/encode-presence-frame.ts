import type { UserPresence } from '@calltrack/core';
import { encodeSseBytes } from './encode-sse-bytes';
import { encodeSseFrame } from './encode-sse-frame';

/**
 * Encodes `event: presence`, `data: {"members": UserPresence[]}`: the tenant's connected users
 * when the stream started (or reloaded); the `presence.*` events that follow are the diffs.
 * `id`: the cursor it was read from, for a stream that ends after it (the client resumes there).
 */
export function encodePresenceFrame(members: readonly UserPresence[], id?: string): Uint8Array {
  return encodeSseBytes(
    encodeSseFrame({ id, event: 'presence', data: JSON.stringify({ members }) }),
  );
}
