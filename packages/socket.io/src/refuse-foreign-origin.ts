import { foreignRequestSender } from '@calltrack/core/internal';
import type { ExtendedError, Socket } from 'socket.io';
import { refuseConnection } from './authenticate-handshake';

/**
 * The refusal (`origin_not_allowed`) for a handshake another origin's page sent, or undefined
 * when it may go on: core's `foreignRequestSender`, the rule of every transport's
 * `allowedOrigins`, over the headers of the request that opened the Engine.IO connection. A
 * WebSocket always carries `Origin`; a long-polling request of a foreign page may not (an image
 * of `?EIO=3&transport=polling` connects to `/` with `allowEIO3`), and its `Sec-Fetch-Site`
 * gives it away. A handshake with neither header is no browser's, or an old browser's.
 */
export function refuseForeignOrigin(
  socket: Socket,
  allowed: ReadonlySet<string>,
): ExtendedError | undefined {
  const foreign = foreignRequestSender(socket.handshake.headers, allowed);
  if (foreign === undefined) return undefined;
  return refuseConnection(`${foreign} is not allowed`, 'origin_not_allowed');
}
