import type { UserPresence } from '@calltrack/core';
import { encodeSseBytes } from './encode-sse-bytes';
import { encodeSseFrame } from './encode-sse-frame';

/**
 * Encodes `event: presence`, `data: {"members": UserPresence[], "complete": boolean}`: the
 * connected users of the stream's tenant (of every tenant, each with its `tenantId`, on an
 * all-tenants stream) when the stream started (or reloaded); the `presence.*` events that follow
 * are the diffs. At most `presenceSnapshotLimit` (1,000) users: `complete` is false when that
 * limit left some out (they come with their next `presence.*` event). `id`: the cursor it was
 * read from, for a stream that ends after it (the client resumes there).
 */
export function encodePresenceFrame(
  members: readonly UserPresence[],
  complete: boolean,
  id?: string,
): Uint8Array {
  return encodeSseBytes(
    encodeSseFrame({ id, event: 'presence', data: JSON.stringify({ members, complete }) }),
  );
}
