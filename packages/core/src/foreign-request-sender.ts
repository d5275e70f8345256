import { CallTrackError } from './errors/calltrack-error';

/**
 * A request's headers as a handler holds them: a Fetch `Headers`, or Node's `IncomingMessage`
 * headers (lower-case names).
 * @internal
 */
export type RequestHeaders =
  | Headers
  | Readonly<Record<string, string | readonly string[] | undefined>>;

/** `Sec-Fetch-Site` values that say the request was not sent by another origin's page. */
const ownSites = new Set(['same-origin', 'none']);

/**
 * Who sent a request that `allowedOrigins` (read by `parseAllowedOrigins`) keeps out, named for
 * an error message (`Origin https://evil.example`), or undefined when it may go on. The one rule
 * of every transport's `allowedOrigins`:
 *
 * - an `Origin` header must name a listed origin (`null`, from a sandboxed frame or a redirect,
 *   never does);
 * - without `Origin`, `Sec-Fetch-Site` decides: a browser sends it with every request, and
 *   `cross-site` or `same-site` says another origin's page sent it. Such requests carry the
 *   user's cookies without an `Origin`: an image, a `no-cors` fetch, a link. Any value other
 *   than `same-origin` or `none` (typed in, a bookmark) is refused too;
 * - without either header the request is no browser's (which holds no one's cookies) or an old
 *   browser's, and goes on.
 * @internal
 */
export function foreignRequestSender(
  headers: RequestHeaders,
  allowed: ReadonlySet<string>,
): string | undefined {
  const origin = headerOf(headers, 'origin');
  if (origin !== undefined) return allowed.has(origin) ? undefined : `Origin ${origin}`;
  const site = headerOf(headers, 'sec-fetch-site')?.trim().toLowerCase();
  if (site === undefined || ownSites.has(site)) return undefined;
  return site === 'cross-site' || site === 'same-site'
    ? `A ${site} page of another origin`
    : `A request with Sec-Fetch-Site ${site}`;
}

/** One header's value, a repeated one joined with ", " (as `Headers` does); undefined if absent. */
function headerOf(headers: RequestHeaders, name: string): string | undefined {
  if (typeof (headers as Headers).get === 'function') {
    return (headers as Headers).get(name) ?? undefined;
  }
  const value = (headers as Readonly<Record<string, string | readonly string[] | undefined>>)[name];
  return typeof value === 'string' || value === undefined ? value : value.join(', ');
}

/**
 * The write rule of the calltrack HTTP APIs (dialer, tracker, webhooks management): a request
 * other than `GET` from a sender {@link foreignRequestSender} keeps out is refused with 403
 * `origin_not_allowed`, before it is authenticated. Nothing is checked without `allowedOrigins`.
 * @internal
 */
export function refuseForeignWrite(
  request: Request,
  allowedOrigins: ReadonlySet<string> | undefined,
): void {
  if (allowedOrigins === undefined || request.method === 'GET') return;
  const foreign = foreignRequestSender(request.headers, allowedOrigins);
  if (foreign === undefined) return;
  throw new CallTrackError({
    message: `${foreign} may not write here.`,
    code: 'origin_not_allowed',
    status: 403,
  });
}
