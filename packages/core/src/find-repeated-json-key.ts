/** A key {@link findRepeatedJsonKey} found given twice in one object, and where. */
export interface RepeatedJsonKey {
  /** The key, decoded (`"le\u0061ds"` is `leads`). */
  key: string;
  /**
   * The path from the top to the object that has it: keys and array indexes (`["leads", 3]` for
   * the fourth lead), empty for the top-level object.
   */
  path: (string | number)[];
}

interface Frame {
  /** The keys of an object so far; undefined for an array. */
  keys: Set<string> | undefined;
  /** The last key read (an object) or the index of the current item (an array). */
  at: string | number;
}

const quote = 34; // "
const backslash = 92;

/**
 * The first key given twice in one object of `text`, JSON that `JSON.parse` accepted, or
 * undefined. `JSON.parse` keeps the last of a repeated key, other readers the first: a body that
 * repeats one (`{"leads": [...], "leads": []}`) means different things to a proxy, a log and the
 * API, as a query parameter given twice does. One pass without recursion, keys compared as
 * decoded; text that is not JSON gives no meaningful answer.
 * @internal
 */
export function findRepeatedJsonKey(text: string): RepeatedJsonKey | undefined {
  const stack: Frame[] = [];
  let expectingKey = false;
  for (let index = 0; index < text.length; index += 1) {
    const character = text.charCodeAt(index);
    if (character === quote) {
      const end = closingQuote(text, index);
      if (expectingKey) {
        const frame = stack.at(-1)!;
        const raw = text.slice(index + 1, end);
        const key = raw.includes('\\') ? (JSON.parse(`"${raw}"`) as string) : raw;
        if (frame.keys!.has(key)) {
          return { key, path: stack.slice(0, -1).map((outer) => outer.at) };
        }
        frame.keys!.add(key);
        frame.at = key;
        expectingKey = false;
      }
      index = end;
      continue;
    }
    switch (text[index]) {
      case '{':
        stack.push({ keys: new Set(), at: '' });
        expectingKey = true;
        break;
      case '[':
        stack.push({ keys: undefined, at: 0 });
        break;
      case '}':
      case ']':
        stack.pop();
        expectingKey = false;
        break;
      case ',': {
        const frame = stack.at(-1);
        if (frame === undefined) break;
        if (frame.keys === undefined) frame.at = (frame.at as number) + 1;
        else expectingKey = true;
        break;
      }
    }
  }
  return undefined;
}

/** The index of the quote that closes the string opening at `start`. */
function closingQuote(text: string, start: number): number {
  let from = start + 1;
  for (;;) {
    const end = text.indexOf('"', from);
    if (end === -1) return text.length;
    let backslashes = 0;
    while (text.charCodeAt(end - 1 - backslashes) === backslash) backslashes += 1;
    if (backslashes % 2 === 0) return end;
    from = end + 1;
  }
}
