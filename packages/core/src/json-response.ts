import { BufferedResponse } from './buffered-response';

/** Options of {@link jsonResponse}. */
export interface JsonResponseInit {
  /** HTTP status; default 200. */
  status?: number;
  /** Extra headers; `content-type` is `application/json` unless given here. */
  headers?: Record<string, string>;
}

/**
 * `Response.json(data, init)` for handlers that may run behind `toNodeHandler` (`@calltrack/core/node`): the result
 * is a real `Response`, and the Node bridge writes it without building a web stream (on Node 20
 * that saves about a fifth of a small webhook's cost).
 */
export function jsonResponse(data: unknown, init: JsonResponseInit = {}): Response {
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (init.headers) {
    for (const name of Object.keys(init.headers)) headers[name.toLowerCase()] = init.headers[name]!;
  }
  return new BufferedResponse(JSON.stringify(data), init.status ?? 200, headers);
}
