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
  if (params instanceof URLSearchParams) return serializePairs([...params]);
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

function serializePairs(pairs: [string, string][]): string {
  // Code-unit order, like Array.prototype.sort on strings (localeCompare would differ).
  pairs.sort((left, right) => (left[0] < right[0] ? -1 : left[0] > right[0] ? 1 : 0));
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

/** The distinct strings among `values`, sorted by code unit. */
function distinctSorted(values: readonly unknown[]): string[] {
  const distinct = new Set<string>();
  for (const value of values) if (typeof value === 'string') distinct.add(value);
  return [...distinct].sort();
}
