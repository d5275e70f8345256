import type { IncomingMessage } from 'node:http';
import { UnsupportedMediaTypeError } from '../errors/unsupported-media-type-error';
import { IncomingBody } from './incoming-body';
import type { NodeRequestHeaders } from './node-request';
import { writeParsedJson } from './write-parsed-json';

/** What Express (or another framework) may have attached to the request. @internal */
export interface FrameworkRequest extends IncomingMessage {
  originalUrl?: string;
  body?: unknown;
  /** Set by body-parser 1.x (Express 4) once it consumed the stream. */
  _body?: boolean;
}

/** A body a parser already read, as the bridge hands it on. @internal */
export interface ConsumedBody {
  body: IncomingBody;
  /** The request's headers; for a re-serialized JSON body, the ones that describe it. */
  headers: NodeRequestHeaders;
}

const encoder = new TextEncoder();

/** Headers that describe the bytes as sent, not a body serialized again. */
const sentBodyHeaders = new Set(['content-length', 'content-encoding', 'transfer-encoding']);

/**
 * True when a body parser (Express 4 or 5) already read the request stream to its end.
 * @internal
 */
export function bodyWasConsumed(request: FrameworkRequest): boolean {
  return request._body === true || request.readableEnded;
}

/**
 * The body a framework's body parser left on a request. The bytes of `express.raw()` (a Buffer)
 * and `express.text()` (a string) go to any handler as they are. A value parsed from JSON
 * (`express.json()`) goes only to a handler that `acceptsParsedJson` (a JSON API that checks no
 * signature): serialized again when the handler reads it (`writeParsedJson`: what JSON cannot
 * carry again is a 4xx), under the headers as sent but without `Content-Length`/`Content-Encoding`
 * (they described the bytes that are gone) and with a charset that says UTF-8. For such a handler
 * a string under a JSON media type is the raw text only when its length says so (see
 * {@link isTextAsSent}); otherwise it is a top-level JSON string (`express.json({ strict: false })`)
 * and is written again as one. A body parsed from anything else (`express.urlencoded()`, a
 * multipart parser) cannot be rebuilt: reading it is refused with 415. For every other handler,
 * provider webhooks first of all, a parsed body is an error thrown at once (a 500: the app is
 * mounted in the wrong order), since the raw bytes a signature covers are gone.
 * @internal
 */
export function consumedBody(request: FrameworkRequest, acceptsParsedJson: boolean): ConsumedBody {
  const parsed = request.body;
  if (parsed instanceof Uint8Array) {
    return { body: IncomingBody.fromBytes(new Uint8Array(parsed)), headers: request.headers };
  }
  const contentType = request.headers['content-type'] ?? '';
  const mediaType = contentType.split(';')[0]!.trim().toLowerCase();
  if (
    typeof parsed === 'string' &&
    !(acceptsParsedJson && isJsonMediaType(mediaType) && !isTextAsSent(request, parsed))
  ) {
    return { body: IncomingBody.fromBytes(encoder.encode(parsed)), headers: request.headers };
  }
  if (!acceptsParsedJson || parsed === undefined) {
    throw new Error(
      'calltrack: the request body was already read by another middleware (express.json() or ' +
        'express.urlencoded()), so the raw bytes a webhook signature covers are gone. Mount this ' +
        "handler before those parsers, or use express.raw({ type: '*/*' }) on its route. " +
        "calltrack's own JSON APIs (the tracker's, the webhooks management API, the dialer's) " +
        'work behind express.json(); provider webhook handlers do not.',
    );
  }
  if (!isJsonMediaType(mediaType)) {
    const refusal = new UnsupportedMediaTypeError({
      message: `This API reads application/json bodies, not ${mediaType.slice(0, 100) || 'a body without a content type'}.`,
    });
    return {
      body: IncomingBody.fromBytes(() => {
        throw refusal;
      }),
      headers: request.headers,
    };
  }
  return {
    body: IncomingBody.fromBytes((maxBytes) => writeParsedJson(parsed, maxBytes)),
    headers: jsonBodyHeaders(request.headers, contentType, mediaType),
  };
}

/**
 * True when `text`, a string a parser left under a JSON media type, is the body as sent
 * (`express.text({ type: 'application/json' })`) rather than the contents of a top-level JSON
 * string (`express.json({ strict: false })` reads `"{\"a\":1}"` as `{"a":1}`): both are
 * strings. The text as sent is exactly `Content-Length` bytes of UTF-8; a JSON string's contents
 * are at least two bytes (its quotes) shorter, escapes only make them shorter still. Without a
 * length, or with bytes that were compressed or in another charset, the two cannot be told apart:
 * the string is then taken as a JSON string, so a handler sees the body a `strict: false` parser
 * read and never an object the client did not send.
 */
function isTextAsSent(request: FrameworkRequest, text: string): boolean {
  const encoding = request.headers['content-encoding'];
  if (encoding !== undefined && encoding.trim().toLowerCase() !== 'identity') return false;
  const charset = charsetOf(request.headers['content-type'] ?? '')?.toLowerCase();
  if (charset !== undefined && charset !== 'utf-8' && charset !== 'utf8') return false;
  const declared = request.headers['content-length'];
  return declared !== undefined && Number(declared) === Buffer.byteLength(text, 'utf8');
}

function charsetOf(contentType: string): string | undefined {
  return /;\s*charset\s*=\s*"?([^";\s]+)/i.exec(contentType)?.[1];
}

function isJsonMediaType(mediaType: string): boolean {
  return mediaType === 'application/json' || /^application\/[^\s/]+\+json$/.test(mediaType);
}

/** The request's headers for its JSON body serialized again: UTF-8, no length or encoding. */
function jsonBodyHeaders(
  sent: NodeRequestHeaders,
  contentType: string,
  mediaType: string,
): NodeRequestHeaders {
  const headers: Record<string, string | string[] | undefined> = {};
  for (const name in sent) {
    if (!sentBodyHeaders.has(name)) headers[name] = sent[name];
  }
  // body-parser decodes utf-16 and utf-32 too; the serialized body is UTF-8 whatever was sent.
  const charset = charsetOf(contentType);
  if (charset !== undefined && charset.toLowerCase() !== 'utf-8') {
    headers['content-type'] = `${mediaType}; charset=utf-8`;
  }
  return headers;
}
