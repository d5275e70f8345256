import { InvalidPayloadError, UnsupportedMediaTypeError } from '@calltrack/core';
import { type IncomingWebhook, parseFormBody } from '@calltrack/core/internal';
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
 * `omitValue` (the token, wherever `tokenLocation` found it) is taken out wherever the fields
 * hold it (see `withoutToken`), so the token never reaches the payload or `raw`. Throws
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
  if (incoming.method === 'GET') return withoutToken(query, options.omitValue);
  const text = await incoming.readText(options.maxBytes);
  if (text.trim() === '') return withoutToken(query, options.omitValue);
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
  return withoutToken(fields, options.omitValue);
}

/** What stands where the token was, in a string that held more than the token. */
const redacted = '[redacted]';

/**
 * How deep the token is looked for. The payload's parser refuses a field nested deeper than 8
 * levels (400), so nothing deeper is ever published; the walk stops there rather than recurse
 * down a body nested 20,000 levels deep.
 */
const maxTokenSearchDepth = 10;

/**
 * `fields` without the token, wherever the payload echoes it (a JSON body may nest objects and
 * arrays, and a string field may hold a URL, a header line or JSON text): a field at any depth
 * whose value is the token, or whose name holds it, is dropped; an array element that is the
 * token, and the token inside a longer string (as is, URL-encoded or JSON-escaped), become
 * `[redacted]`. Changes `fields` in place.
 */
function withoutToken(
  fields: Record<string, unknown>,
  token: string | undefined,
): Record<string, unknown> {
  if (token === undefined || token === '') return fields;
  const forms = [
    ...new Set([
      token,
      encodeURIComponent(token),
      new URLSearchParams([['', token]]).toString().slice(1),
      JSON.stringify(token).slice(1, -1),
    ]),
  ];
  const holdsToken = (text: string) => forms.some((form) => text.includes(form));
  const clean = (value: unknown, depth: number): unknown => {
    if (typeof value === 'string') {
      if (!holdsToken(value)) return value;
      let text = value;
      for (const form of forms) text = text.split(form).join(redacted);
      return text;
    }
    if (depth > maxTokenSearchDepth) return value;
    if (Array.isArray(value)) {
      for (let index = 0; index < value.length; index += 1) {
        value[index] = value[index] === token ? redacted : clean(value[index], depth + 1);
      }
      return value;
    }
    if (value !== null && typeof value === 'object') {
      const record = value as Record<string, unknown>;
      for (const name of Object.keys(record)) {
        const field = record[name];
        if (field === token || holdsToken(name)) {
          delete record[name];
          continue;
        }
        const cleaned = clean(field, depth + 1);
        // Defined, not assigned: a field named `__proto__` stays a field.
        if (cleaned !== field) {
          Object.defineProperty(record, name, {
            value: cleaned,
            enumerable: true,
            writable: true,
            configurable: true,
          });
        }
      }
    }
    return value;
  };
  return clean(fields, 0) as Record<string, unknown>;
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
