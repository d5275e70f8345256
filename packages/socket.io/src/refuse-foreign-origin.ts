import type { ExtendedError, Socket } from 'socket.io';
import { refuseConnection } from './authenticate-handshake';

/**
 * The refusal (`origin_not_allowed`) for a handshake whose `Origin` header is not in `allowed`,
 * or undefined when it may go on. A handshake without the header goes on: browsers send it with
 * every WebSocket and every cross-origin request, so it comes from a client that is not a
 * browser (which holds no victim's cookies), or from a same-origin long-polling request.
 */
export function refuseForeignOrigin(
  socket: Socket,
  allowed: ReadonlySet<string>,
): ExtendedError | undefined {
  const { origin } = socket.handshake.headers;
  if (origin === undefined || allowed.has(origin)) return undefined;
  return refuseConnection(`Origin ${origin} is not allowed`, 'origin_not_allowed');
}
