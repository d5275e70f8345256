import {
  type IncomingWebhook,
  InvalidPayloadError,
  parseFormBody,
  UnsupportedMediaTypeError,
} from '@calltrack/core';
import { parseCallerDeskJson } from './parse-callerdesk-json';

/** How a CallerDesk webhook body is encoded. */
export type CallerDeskBodyType = 'json' | 'form' | 'multipart' | 'unknown';

/**
 * The body encoding of a POST, from its `Content-Type`: JSON, URL-encoded form or multipart form.
 * A request without a content type is sniffed once read. Throws `UnsupportedMediaTypeError`
 * (415) for anything else.
 * @internal
 */
export function callerDeskBodyType(contentType: string | undefined): CallerDeskBodyType {
  if (contentType === undefined || contentType.trim() === '') return 'unknown';
  const mediaType = contentType.split(';')[0]!.trim().toLowerCase();
  if (mediaType === 'application/json' || /^application\/[a-z0-9.+-]+\+json$/.test(mediaType)) {
    return 'json';
  }
  if (mediaType === 'application/x-www-form-urlencoded') return 'form';
  if (mediaType === 'multipart/form-data') return 'multipart';
  throw new UnsupportedMediaTypeError({
    message:
      'CallerDesk webhooks must be sent as a query string (GET), application/x-www-form-urlencoded, multipart/form-data or application/json.',
  });
}

/**
 * Reads the fields of a CallerDesk webhook: the query string of a GET; for a POST, the query
 * string overlaid with the body's fields (CallerDesk posts either); `url` is the request's,
 * parsed once by the handler. `omit` names a query parameter to drop (the secret token), and
 * every field whose value is `omitValue` (the token, wherever `tokenLocation` found it) is dropped
 * too, so the token never reaches the payload or `raw`. Throws
 * `PayloadTooLargeError` (413) above `maxBytes` and `InvalidPayloadError` (400) for a body that
 * does not parse.
 * @internal
 */
export async function readCallerDeskFields(
  incoming: IncomingWebhook,
  options: {
    url: URL;
    bodyType: CallerDeskBodyType;
    maxBytes: number;
    omit?: string | undefined;
    omitValue?: string | undefined;
  },
): Promise<Record<string, unknown>> {
  const query: Record<string, unknown> = parseFormBody(options.url.search.slice(1));
  if (options.omit !== undefined) delete query[options.omit];
  if (incoming.method === 'GET') return withoutValue(query, options.omitValue);
  const text = await incoming.readText(options.maxBytes);
  if (text.trim() === '') return withoutValue(query, options.omitValue);
  let type = options.bodyType;
  if (type === 'unknown') type = text.trimStart().startsWith('{') ? 'json' : 'form';
  const body = await parseBody(text, type, incoming.header('content-type') ?? '');
  const fields: Record<string, unknown> = { ...query };
  for (const [name, value] of Object.entries(body)) {
    Object.defineProperty(fields, name, {
      value,
      enumerable: true,
      writable: true,
      configurable: true,
    });
  }
  return withoutValue(fields, options.omitValue);
}

/** `fields` without the top-level fields whose value is `value` (a string). */
function withoutValue(
  fields: Record<string, unknown>,
  value: string | undefined,
): Record<string, unknown> {
  if (value === undefined) return fields;
  for (const name of Object.keys(fields)) if (fields[name] === value) delete fields[name];
  return fields;
}

async function parseBody(
  text: string,
  type: CallerDeskBodyType,
  contentType: string,
): Promise<Record<string, unknown>> {
  if (type === 'json') {
    const value = parseCallerDeskJson(text);
    if (value === null || typeof value !== 'object' || Array.isArray(value)) {
      throw new InvalidPayloadError({
        message: 'Invalid CallerDesk webhook: the JSON body must be an object of fields.',
      });
    }
    return value as Record<string, unknown>;
  }
  if (type === 'multipart') {
    let form: FormData;
    try {
      form = await new Response(text, { headers: { 'content-type': contentType } }).formData();
    } catch (error) {
      throw new InvalidPayloadError({
        message: 'Invalid CallerDesk webhook: the multipart body does not parse.',
        cause: error,
      });
    }
    const record: Record<string, unknown> = {};
    for (const [name, value] of form) {
      if (typeof value === 'string' && !Object.hasOwn(record, name)) {
        Object.defineProperty(record, name, {
          value,
          enumerable: true,
          writable: true,
          configurable: true,
        });
      }
    }
    return record;
  }
  return parseFormBody(text);
}
