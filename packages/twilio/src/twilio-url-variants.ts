import { parse as parseQuery, stringify as stringifyQuery } from 'node:querystring';

const urlPattern = /^([a-zA-Z][a-zA-Z0-9+.-]*):\/\/([^/?#]*)([^?#]*)(\?[^#]*)?(#.*)?$/;

const defaultPorts: Record<string, string> = { http: '80', https: '443' };

/**
 * Every spelling of `url` Twilio may have signed, the URL exactly as given first. Twilio's
 * signing is inconsistent about ports and query encoding (see twilio-node `validateRequest`), so
 * after the URL as received this yields, without repeats:
 *
 * - the authority with its port removed, and with the scheme's default port (`:443`, `:80`) added;
 * - the query with `%27` turned back into `'` (WHATWG `URL`, and so `Request.url`, encodes it),
 *   and the WHATWG serialization of the URL (what twilio-node signs: `'` → `%27` …);
 * - the query after a legacy `querystring.parse` → `stringify` round-trip (`+` → `%20` …);
 * - each of those without a `#fragment` (connection-override fragments never reach the server).
 *
 * Strings that do not look like an absolute URL yield only themselves.
 *
 * @internal
 */
export function* twilioUrlVariants(url: string): Generator<string, void, undefined> {
  yield url;
  const seen = new Set<string>([url]);
  const bases = [url];
  // What twilio-node signs: the WHATWG serialization (`'` → `%27`, lowercase host, no default port).
  const normalized = whatwgHref(url);
  if (normalized !== undefined && normalized !== url) bases.push(normalized);
  for (const base of bases) {
    const match = urlPattern.exec(base);
    if (match === null) continue;
    const scheme = match[1]!;
    const authority = match[2]!;
    const path = match[3]!;
    const query = match[4] ?? '';
    const fragment = match[5] ?? '';
    const authorities = authorityVariants(scheme.toLowerCase(), authority);
    const queries = queryVariants(query);
    const fragments = fragment === '' ? [''] : [fragment, ''];
    for (const fragmentVariant of fragments) {
      for (const queryVariant of queries) {
        for (const authorityVariant of authorities) {
          const candidate = `${scheme}://${authorityVariant}${path}${queryVariant}${fragmentVariant}`;
          if (seen.has(candidate)) continue;
          seen.add(candidate);
          yield candidate;
        }
      }
    }
  }
}

function authorityVariants(scheme: string, authority: string): string[] {
  const at = authority.lastIndexOf('@');
  const userInfo = at === -1 ? '' : authority.slice(0, at + 1);
  const hostPort = authority.slice(at + 1);
  let host = hostPort;
  let port = '';
  const portMatch = /^(\[[^\]]*\]|[^:]*):(\d*)$/.exec(hostPort);
  if (portMatch !== null) {
    host = portMatch[1]!;
    port = portMatch[2]!;
  }
  const variants = [authority, `${userInfo}${host}`];
  const defaultPort = defaultPorts[scheme];
  if (port === '' && defaultPort !== undefined && host !== '') {
    variants.push(`${userInfo}${host}:${defaultPort}`);
  }
  return variants;
}

function queryVariants(query: string): string[] {
  if (query.length <= 1) return [query];
  const variants = [query];
  if (query.includes('%27')) variants.push(query.replaceAll('%27', "'"));
  try {
    const roundTrip = stringifyQuery(parseQuery(query.slice(1), '&', '=', { maxKeys: 0 }));
    variants.push(`?${roundTrip}`);
  } catch {
    // A query the legacy parser cannot take simply has no legacy variant.
  }
  return variants;
}

function whatwgHref(url: string): string | undefined {
  try {
    return new URL(url).href;
  } catch {
    return undefined;
  }
}
