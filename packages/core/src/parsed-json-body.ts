import type { FetchHandler } from './fetch-handler';

const parsedJsonBodyKey = Symbol.for('calltrack.acceptsParsedJsonBody');

/**
 * Marks a fetch handler as a JSON API that checks no signature over the raw body (the tracker's
 * HTTP API, for one), so the Node bridge may hand it a JSON body that a body parser such as
 * `express.json()` already read: re-serialized, with headers that describe it. Handlers without
 * this mark, provider webhook handlers first of all, are refused such a request, since the bytes
 * a signature covers are gone. Returns the handler.
 * @internal
 */
export function acceptParsedJsonBody<Handler extends FetchHandler>(handler: Handler): Handler {
  Object.defineProperty(handler, parsedJsonBodyKey, { value: true });
  return handler;
}

/**
 * True for a handler marked with {@link acceptParsedJsonBody}, from any copy of this package
 * (through a shared symbol).
 * @internal
 */
export function acceptsParsedJsonBody(handler: FetchHandler): boolean {
  return (handler as unknown as Record<symbol, unknown>)[parsedJsonBodyKey] === true;
}
