import type { CallSnapshot } from '@calltrack/core';
import { encodeSseBytes } from './encode-sse-bytes';
import { encodeSseFrame } from './encode-sse-frame';

/**
 * Encodes `event: snapshot`, `data: {"calls": CallSnapshot[], "complete": boolean}`. A call that
 * cannot be encoded (a throwing getter, nesting too deep) is left out and handed to
 * `onUnencodable`, rather than failing the whole snapshot, and with it every attempt of the
 * client to connect; the snapshot then lists not every active call, so `complete` is false.
 * `id`: the cursor it was read from, for a stream that ends after it (the client resumes there).
 */
export function encodeSnapshotFrame(
  calls: readonly CallSnapshot[],
  complete: boolean,
  onUnencodable: (error: unknown) => void,
  id?: string,
): Uint8Array {
  let data: string;
  try {
    data = JSON.stringify({ calls, complete });
  } catch {
    const parts: string[] = [];
    for (const call of calls) {
      try {
        parts.push(JSON.stringify(call));
      } catch (error) {
        onUnencodable(error);
      }
    }
    const listsAll = complete && parts.length === calls.length;
    data = `{"calls":[${parts.join(',')}],"complete":${listsAll}}`;
  }
  return encodeSseBytes(encodeSseFrame({ id, event: 'snapshot', data }));
}
