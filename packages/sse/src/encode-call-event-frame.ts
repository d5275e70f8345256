import type { BusEventMessage } from '@calltrack/bus';
import type { CallEvent } from '@calltrack/core';
import { encodeSseFrame, isSafeSseField } from './encode-sse-frame';

/** The SSE event name every bus event travels under; the payload's `type` tells them apart. */
export const callEventName = 'call';

interface CachedFrame {
  cursor: string;
  bytes: Uint8Array;
}

const encoder = new TextEncoder();
const cache = new WeakMap<CallEvent, CachedFrame>();

/**
 * Encodes a bus event as `id: <cursor>`, `event: call`, `data: <CallEvent JSON>`, as UTF-8 bytes.
 *
 * A live event reaches every subscriber as the same object, so the frame is built once and
 * shared by every stream it goes to (a `WeakMap` keyed by the event: nothing outlives it). A
 * cursor that could not travel in an `id:` line (never the case for bus cursors) is left out
 * rather than corrupting the stream.
 */
export function encodeCallEventFrame(message: BusEventMessage): Uint8Array {
  const cached = cache.get(message.event);
  if (cached !== undefined && cached.cursor === message.cursor) return cached.bytes;
  const bytes = encoder.encode(
    encodeSseFrame({
      ...(isSafeSseField(message.cursor) ? { id: message.cursor } : {}),
      event: callEventName,
      data: JSON.stringify(message.event),
    }),
  );
  cache.set(message.event, { cursor: message.cursor, bytes });
  return bytes;
}
