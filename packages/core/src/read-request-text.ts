import { InvalidPayloadError } from './errors/invalid-payload-error';
import { PayloadTooLargeError } from './errors/payload-too-large-error';
import { readBodyOf } from './request-body-reader';

/** Options of {@link readRequestText}. */
export interface ReadRequestTextOptions {
  /** Largest body accepted, in bytes. */
  maxBytes: number;
}

/**
 * Reads a request body as UTF-8 text, refusing more than `maxBytes`: early from `Content-Length`
 * (before a byte is read), and while streaming when the header is absent or wrong. Throws {@link PayloadTooLargeError}
 * (413) or, for bytes that are not UTF-8, {@link InvalidPayloadError} (400).
 */
export async function readRequestText(
  request: Request,
  { maxBytes }: ReadRequestTextOptions,
): Promise<string> {
  const declared = Number(request.headers.get('content-length'));
  if (Number.isFinite(declared) && declared > maxBytes) {
    throw tooLarge(maxBytes);
  }
  // The Node bridge reads its bodies straight from the socket into one buffer: no web stream.
  const read = readBodyOf(request, maxBytes);
  if (read !== undefined) return decodeRequestText(await read);
  if (request.body === null) return '';
  const reader = request.body.getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    total += value.byteLength;
    if (total > maxBytes) {
      await reader.cancel().catch(() => {});
      throw tooLarge(maxBytes);
    }
    chunks.push(value);
  }
  const bytes = new Uint8Array(total);
  let offset = 0;
  for (const chunk of chunks) {
    bytes.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return decodeRequestText(bytes);
}

// ignoreBOM keeps a leading byte-order mark: signatures cover the body byte for byte.
const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/**
 * A request body's bytes as UTF-8 text; bytes that are not UTF-8 throw {@link InvalidPayloadError}
 * (400). A leading byte-order mark is kept.
 * @internal
 */
export function decodeRequestText(bytes: Uint8Array): string {
  try {
    return utf8.decode(bytes);
  } catch (error) {
    throw new InvalidPayloadError({
      message: 'The request body is not valid UTF-8.',
      cause: error,
    });
  }
}

function tooLarge(maxBytes: number): PayloadTooLargeError {
  return new PayloadTooLargeError({
    message: `The request body is larger than the limit of ${maxBytes} bytes.`,
  });
}
