import { z } from 'zod';
import {
  checkEndpointUrl,
  type EndpointUrlPolicy,
  hasLoneSurrogate,
  loneSurrogateMessage,
} from './check-endpoint-url';
import { InvalidEndpointError } from './errors/invalid-endpoint-error';
import { checkEventFilter } from './event-filter';

/** The settings of an endpoint a caller gives when creating or updating it. */
export interface EndpointInput {
  /** Where deliveries are POSTed: https (http only with `allowHttp`), no credentials in it. */
  url?: string;
  /** Up to 512 characters. */
  description?: string;
  /**
   * Event types: exact known types, prefix wildcards (`call.*`) or `*`. Default `["*"]`. A
   * user-addressed event (`user.message`) is sent only where its type is named exactly.
   */
  events?: string[];
  /** Default true. Enabling a disabled endpoint clears its failure clock. */
  enabled?: boolean;
  /**
   * Static headers sent with every delivery (an `authorization` for your API…); up to 20, each
   * value at most 1,024 visible ASCII characters, spaces and tabs.
   */
  headers?: Record<string, string>;
  /** Most deliveries per second; null for none. */
  rateLimitPerSecond?: number | null;
  /** Most deliveries in flight at once, 1–100. */
  maxConcurrency?: number;
}

/** Limits {@link parseEndpointInput} applies besides the fixed ones. */
export interface EndpointInputPolicy extends EndpointUrlPolicy {
  /** Every event type an endpoint may filter on. */
  knownEventTypes: readonly string[];
}

const headerName = /^[A-Za-z0-9!#$%&'*+.^_`|~-]{1,64}$/;
// Visible ASCII, space and tab: a subset of what undici sends (it refuses control characters
// and anything past U+00FF, and sends U+0080–U+00FF as single Latin-1 bytes, which receivers
// read differently), so a value saved is a value every delivery can carry as it was given.
const headerValue = /^[\t\x20-\x7e]*$/;
const reservedHeaders = new Set([
  'host',
  'content-length',
  'content-type',
  'transfer-encoding',
  'connection',
  'keep-alive',
  'upgrade',
  'te',
  'trailer',
  'expect',
  'user-agent',
]);

const inputSchema = z.strictObject({
  url: z.unknown().optional(),
  description: z
    .string()
    .max(512, 'must be at most 512 characters')
    .refine((text) => !hasLoneSurrogate(text), loneSurrogateMessage)
    .optional(),
  events: z.array(z.unknown()).max(1000).optional(),
  enabled: z.boolean().optional(),
  headers: z
    .record(z.string(), z.string().max(1024, 'values must be at most 1,024 characters'))
    .optional(),
  rateLimitPerSecond: z
    .number()
    .positive('must be positive')
    .max(10_000, 'must be at most 10,000')
    .nullable()
    .optional(),
  maxConcurrency: z
    .number()
    .int('must be a whole number')
    .min(1, 'must be at least 1')
    .max(100, 'must be at most 100')
    .optional(),
});

/**
 * Validates endpoint settings from a caller (the API body, or your code). `mode: 'create'` needs a
 * `url`. Throws {@link InvalidEndpointError} (400) naming the field and what is wrong.
 */
export function parseEndpointInput(
  input: unknown,
  mode: 'create' | 'update',
  policy: EndpointInputPolicy,
): EndpointInput {
  const parsed = inputSchema.safeParse(input);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const field = issue.path.join('.');
    const message =
      issue.code === 'unrecognized_keys'
        ? `Unknown field ${issue.keys.map((name) => `"${name}"`).join(', ')}.`
        : issue.code === 'invalid_type' && issue.path.length === 0
          ? 'The endpoint settings must be a JSON object.'
          : `${field || 'body'}: ${issue.message}.`;
    throw new InvalidEndpointError({ message });
  }
  const value = parsed.data;
  const fail = (field: string, reason: string): never => {
    throw new InvalidEndpointError({ message: `${field}: ${reason}.` });
  };
  if (mode === 'create' || value.url !== undefined) {
    const problem = checkEndpointUrl(value.url, policy);
    if (problem) fail('url', problem);
  }
  if (value.events !== undefined) {
    const problem = checkEventFilter(value.events, policy.knownEventTypes);
    if (problem) fail('events', problem);
  }
  if (value.headers !== undefined) {
    // The names as given: the record parser drops `__proto__` (a plain object cannot keep it),
    // which must be refused, not lost.
    const names = Object.keys((input as { headers: object }).headers);
    if (names.length > 20) fail('headers', 'at most 20 headers');
    const seen = new Set<string>();
    for (const name of names) {
      const lower = name.toLowerCase();
      if (!headerName.test(name) || name === '__proto__') {
        fail('headers', `"${name}" is not a valid header name`);
      }
      if (
        reservedHeaders.has(lower) ||
        lower.startsWith('webhook-') ||
        lower.startsWith('proxy-')
      ) {
        fail('headers', `"${name}" is set by the dispatcher and cannot be overridden`);
      }
      if (seen.has(lower)) fail('headers', `"${name}" is given twice`);
      seen.add(lower);
      if (!headerValue.test(value.headers[name]!)) {
        fail(
          'headers',
          `the value of "${name}" may hold only visible ASCII characters, spaces and tabs`,
        );
      }
    }
  }
  return {
    ...(value.url === undefined ? {} : { url: value.url as string }),
    ...(value.description === undefined ? {} : { description: value.description }),
    ...(value.events === undefined ? {} : { events: value.events as string[] }),
    ...(value.enabled === undefined ? {} : { enabled: value.enabled }),
    ...(value.headers === undefined
      ? {}
      : {
          headers: Object.fromEntries(
            Object.entries(value.headers).map(([name, headerValue]) => [
              name.toLowerCase(),
              headerValue,
            ]),
          ),
        }),
    ...(value.rateLimitPerSecond === undefined
      ? {}
      : { rateLimitPerSecond: value.rateLimitPerSecond }),
    ...(value.maxConcurrency === undefined ? {} : { maxConcurrency: value.maxConcurrency }),
  };
}
