import type { BufferedResponseParts } from './buffered-response';
import type { FetchHandler, FetchHandlerContext } from './fetch-handler';
import { readRequestText } from './read-request-text';

/**
 * A webhook request as a provider handler reads it, whoever delivered it: from a fetch `Request`
 * ({@link incomingWebhookOf}), or straight from Node's `IncomingMessage` (the Node bridge's fast
 * path, which builds no `Request` unless an app callback asks for one). One provider handler,
 * written once against this, serves both.
 * @internal
 */
export interface IncomingWebhook {
  readonly method: string;
  /** The absolute URL as received. */
  readonly url: string;
  /** The client address the runtime reported, if any. */
  readonly clientAddress: string | undefined;
  /** A header (name in lower case), repeated ones joined with ", "; undefined when absent. */
  header(name: string): string | undefined;
  /**
   * The body as UTF-8 text, at most `maxBytes` of it: as core's `readRequestText` (413 early from
   * `Content-Length` and while reading, 400 for bytes that are not UTF-8). Reads once.
   */
  readText(maxBytes: number): Promise<string>;
  /** The request as a fetch `Request`, for the app's callbacks; built on first use. */
  readonly request: Request;
}

/**
 * What a handler that takes an {@link IncomingWebhook} answers: status, headers (lower-case
 * names) and body text, written by the Node bridge in one `end()`.
 * @internal
 */
export type IncomingWebhookAnswer = BufferedResponseParts;

/** A handler of {@link IncomingWebhook}s. @internal */
export type IncomingWebhookHandler = (incoming: IncomingWebhook) => Promise<IncomingWebhookAnswer>;

const incomingWebhookHandlerKey = Symbol.for('calltrack.incomingWebhookHandler');

/**
 * Gives a fetch handler the {@link IncomingWebhookHandler} it is made of, under a shared symbol,
 * so the Node bridge can call that directly. Returns the fetch handler.
 * @internal
 */
export function withIncomingWebhookHandler<Handler extends FetchHandler>(
  fetchHandler: Handler,
  incomingHandler: IncomingWebhookHandler,
): Handler {
  Object.defineProperty(fetchHandler, incomingWebhookHandlerKey, { value: incomingHandler });
  return fetchHandler;
}

/**
 * The {@link IncomingWebhookHandler} behind a fetch handler, or undefined for any other handler.
 * Works across copies of this package through a shared symbol.
 * @internal
 */
export function incomingWebhookHandlerOf(
  handler: FetchHandler,
): IncomingWebhookHandler | undefined {
  const found = (handler as unknown as Record<symbol, unknown>)[incomingWebhookHandlerKey];
  return typeof found === 'function' ? (found as IncomingWebhookHandler) : undefined;
}

/**
 * A fetch `Request` as an {@link IncomingWebhook}: what a provider's fetch handler (Next.js,
 * Hono, Bun, Deno, or the Node bridge for a plain fetch handler) hands to the shared code.
 * @internal
 */
export function incomingWebhookOf(
  request: Request,
  context: FetchHandlerContext | undefined,
): IncomingWebhook {
  return {
    method: request.method,
    url: request.url,
    clientAddress: context?.clientAddress,
    header: (name) => request.headers.get(name) ?? undefined,
    readText: (maxBytes) => readRequestText(request, { maxBytes }),
    request,
  };
}
