const readBodySymbol = Symbol.for('calltrack.readBody');

/**
 * A `Request` whose body can be read into one buffer without a web stream, at most `maxBytes`
 * of it: what the Node bridge (`@calltrack/core/node`) hands to handlers. It reads from the socket
 * only when asked, so a handler that refuses from the headers never waits for the body.
 * @internal
 */
export interface RequestBodyReader {
  [readBodySymbol](maxBytes: number): Promise<Uint8Array>;
}

/** The symbol under which a {@link RequestBodyReader} reads its body. @internal */
export const readBody: typeof readBodySymbol = readBodySymbol;

/**
 * Reads the body of a request made by the Node bridge, at most `maxBytes` of it (rejecting with
 * `PayloadTooLargeError` past it), or returns undefined for any other request. Works across copies
 * of this package through a shared symbol.
 * @internal
 */
export function readBodyOf(request: Request, maxBytes: number): Promise<Uint8Array> | undefined {
  const read = (request as unknown as Partial<RequestBodyReader>)[readBodySymbol];
  return typeof read === 'function' ? read.call(request, maxBytes) : undefined;
}
