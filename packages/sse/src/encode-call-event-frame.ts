import type { BusEventMessage } from '@calltrack/bus';
import type { CallEvent } from '@calltrack/core';
import { encodeSseBytes } from './encode-sse-bytes';
import { encodeSseFrame, isSafeSseField } from './encode-sse-frame';

/** The SSE event name every bus event travels under; the payload's `type` tells them apart. */
export const callEventName = 'call';

type CachedFrame =
  | { cursor: string; bytes: Uint8Array; error?: undefined }
  | { cursor: string; bytes?: undefined; error: unknown };

const cache = new WeakMap<CallEvent, CachedFrame>();

/**
 * Encodes a bus event as `id: <cursor>`, `event: call`, `data: <CallEvent JSON>`, as UTF-8 bytes.
 *
 * A live event reaches every subscriber as the same object, so the frame is built once and
 * shared by every stream it goes to (a `WeakMap` keyed by the event: nothing outlives it). An
 * event that cannot be encoded (a throwing `toJSON` or getter, nesting too deep for
 * `JSON.stringify`) throws, and that failure is remembered too: thousands of streams do not each
 * pay for a stack overflow. A cursor that could not travel in an `id:` line (never the case for
 * bus cursors) is left out rather than corrupting the stream.
 */
export function encodeCallEventFrame(message: BusEventMessage): Uint8Array {
  const { event, cursor } = message;
  const cached = cache.get(event);
  if (cached !== undefined && cached.cursor === cursor) {
    if (cached.bytes === undefined) throw cached.error;
    return cached.bytes;
  }
  let bytes: Uint8Array;
  try {
    bytes = encodeSseBytes(
      encodeSseFrame({
        ...(isSafeSseField(cursor) ? { id: cursor } : {}),
        event: callEventName,
        data: JSON.stringify(event),
      }),
    );
  } catch (error) {
    cache.set(event, { cursor, error });
    throw error;
  }
  cache.set(event, { cursor, bytes });
  return bytes;
}
