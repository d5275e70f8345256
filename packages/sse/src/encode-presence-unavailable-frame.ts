import { encodeSseBytes } from './encode-sse-bytes';
import { encodeSseFrame } from './encode-sse-frame';

/**
 * Encodes `event: presence-unavailable`, `data: {"reason":"all-tenants"}`: sent instead of the
 * members to a stream of every tenant that takes `presence.*` (with `presence`). Presence is per
 * tenant: no members come, and the `presence.*` events of several tenants cannot be applied to
 * any, so the client neither waits for members nor holds those events.
 */
export function encodePresenceUnavailableFrame(): Uint8Array {
  return encodeSseBytes(
    encodeSseFrame({
      event: 'presence-unavailable',
      data: JSON.stringify({ reason: 'all-tenants' }),
    }),
  );
}
