/** One Server-Sent Events frame, before encoding. */
export interface SseFrame {
  /** `id:` line: becomes the client's last event id. Omitted when undefined. */
  id?: string;
  /** `event:` line: the event name the client listens for. Omitted when undefined. */
  event?: string;
  /** `data:` payload; a string with line breaks becomes several `data:` lines. */
  data?: string;
  /** `retry:` line: the client's reconnection delay in milliseconds. */
  retry?: number;
  /** A comment line (`: <text>`), ignored by clients; keeps proxies from timing out. */
  comment?: string;
}

const lineBreak = /\r\n|\r|\n/;
const forbidden = /[\r\n\0]/;

/**
 * True when `value` can travel in an `id:` or `event:` field: a CR or LF would end the line early
 * (letting the rest inject fields), and a NUL makes browsers ignore an id.
 */
export function isSafeSseField(value: string): boolean {
  return !forbidden.test(value);
}

/**
 * Encodes a frame as SSE text, ending with the blank line that dispatches it. Throws a
 * `TypeError` for an `id` or `event` holding CR, LF or NUL, or a `retry` that is not a
 * non-negative integer: those would corrupt the stream.
 */
export function encodeSseFrame(frame: SseFrame): string {
  let text = '';
  if (frame.comment !== undefined) {
    for (const line of frame.comment.split(lineBreak)) text += `: ${line}\n`;
  }
  if (frame.retry !== undefined) {
    if (!Number.isSafeInteger(frame.retry) || frame.retry < 0) {
      throw new TypeError('SSE retry must be a non-negative integer (milliseconds).');
    }
    text += `retry: ${frame.retry}\n`;
  }
  if (frame.id !== undefined) {
    if (!isSafeSseField(frame.id)) throw new TypeError('An SSE id must not contain CR, LF or NUL.');
    text += `id: ${frame.id}\n`;
  }
  if (frame.event !== undefined) {
    if (!isSafeSseField(frame.event) || frame.event === '') {
      throw new TypeError('An SSE event name must be non-empty, without CR, LF or NUL.');
    }
    text += `event: ${frame.event}\n`;
  }
  if (frame.data !== undefined) {
    for (const line of frame.data.split(lineBreak)) text += `data: ${line}\n`;
  }
  return `${text}\n`;
}
