const encoder = new TextEncoder();
const NodeBuffer = (globalThis as { Buffer?: { from(text: string, encoding: 'utf8'): Uint8Array } })
  .Buffer;

/**
 * SSE text as UTF-8 bytes. On Node a `Buffer`, which `ServerResponse.write` takes as it is (a
 * plain `Uint8Array` is wrapped in a new `Buffer` on every write); elsewhere a `Uint8Array`.
 */
export function encodeSseBytes(text: string): Uint8Array {
  return NodeBuffer ? NodeBuffer.from(text, 'utf8') : encoder.encode(text);
}
