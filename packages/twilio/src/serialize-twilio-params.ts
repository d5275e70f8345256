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
  const pairs: [string, string][] = [];
  if (params instanceof URLSearchParams) {
    for (const pair of params) pairs.push(pair);
  } else {
    for (const name of Object.keys(params)) {
      const value: unknown = params[name];
      if (typeof value === 'string') pairs.push([name, value]);
      else if (Array.isArray(value)) {
        for (const item of value) if (typeof item === 'string') pairs.push([name, item]);
      }
    }
  }
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
      const values = new Set<string>();
      for (let index = start; index < end; index += 1) values.add(pairs[index]![1]);
      for (const value of [...values].sort()) data += name + value;
    }
    start = end;
  }
  return data;
}
