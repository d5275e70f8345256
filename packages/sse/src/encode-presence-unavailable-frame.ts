import { encodeSseBytes } from './encode-sse-bytes';
import { encodeSseFrame } from './encode-sse-frame';

/**
 * Encodes `event: presence-unavailable`, `data: {"reason":"all-tenants"}`: sent instead of the
 * members to a stream of every tenant that takes `presence.*` when `presence` cannot list every
 * tenant's members (a `ConnectionPresence` of your own without `listMembersAcrossTenants`;
 * `createPresence()` has it). No members come, so the client neither waits for them nor holds
 * the `presence.*` events.
 */
export function encodePresenceUnavailableFrame(): Uint8Array {
  return encodeSseBytes(
    encodeSseFrame({
      event: 'presence-unavailable',
      data: JSON.stringify({ reason: 'all-tenants' }),
    }),
  );
}
