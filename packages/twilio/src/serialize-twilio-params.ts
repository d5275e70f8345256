import type { TwilioParams } from './twilio-params';

/**
 * The part of the signed string that the parameters contribute, with twilio-node semantics:
 * names sorted by UTF-16 code units, each appended as `name + value` with no separator; a
 * repeated name contributes each of its distinct values, sorted, as `name + value`.
 *
 * @internal
 */
export function serializeTwilioParams(params: TwilioParams | undefined): string {
  if (params == null) return '';
  if (params instanceof URLSearchParams) return serializeTwilioParamPairs([...params]);
  // A record has each name once: sort the names alone (the default sort compares code units).
  const names = Object.keys(params).sort();
  let data = '';
  for (const name of names) {
    const value: unknown = params[name];
    if (typeof value === 'string') data += name + value;
    else if (Array.isArray(value)) {
      for (const item of distinctSorted(value)) data += name + item;
    }
  }
  return data;
}

/**
 * {@link serializeTwilioParams} for name/value pairs as a form body lists them (repeated names
 * included). Sorts `pairs` in place.
 * @internal
 */
export function serializeTwilioParamPairs(pairs: [string, string][]): string {
  sortByName(pairs);
  let data = '';
  for (let start = 0; start < pairs.length; ) {
    const name = pairs[start]![0];
    let end = start + 1;
    while (end < pairs.length && pairs[end]![0] === name) end += 1;
    if (end - start === 1) {
      data += name + pairs[start]![1];
    } else {
      const values: string[] = [];
      for (let index = start; index < end; index += 1) values.push(pairs[index]![1]);
      for (const value of distinctSorted(values)) data += name + value;
    }
    start = end;
  }
  return data;
}

/** Most pairs sorted by insertion: a webhook's few dozen, where `sort` costs more than it saves. */
const maxInsertionSorted = 32;

/**
 * Sorts pairs by name in code-unit order (as `Array.prototype.sort` orders strings;
 * `localeCompare` would differ), keeping the order of a repeated name's values (stable).
 */
function sortByName(pairs: [string, string][]): void {
  if (pairs.length > maxInsertionSorted) {
    pairs.sort((left, right) => (left[0] < right[0] ? -1 : left[0] > right[0] ? 1 : 0));
    return;
  }
  for (let index = 1; index < pairs.length; index += 1) {
    const pair = pairs[index]!;
    const name = pair[0];
    let at = index;
    while (at > 0 && pairs[at - 1]![0] > name) {
      pairs[at] = pairs[at - 1]!;
      at -= 1;
    }
    pairs[at] = pair;
  }
}

/** The distinct strings among `values`, sorted by code unit. */
function distinctSorted(values: readonly unknown[]): string[] {
  const distinct = new Set<string>();
  for (const value of values) if (typeof value === 'string') distinct.add(value);
  return [...distinct].sort();
}
