/**
 * A stable hash of `text` as 16 hex characters: two 32-bit FNV-1a over its UTF-16 code units,
 * with two seeds. Not cryptographic: it shortens ids that are too long, the same way in every
 * process and version. Plain JavaScript (no `node:crypto`), so it runs on edge runtimes too.
 * @internal Shared with `@calltrack/tracker` and `@calltrack/callerdesk`, whose event ids use it.
 */
export function hashText(text: string): string {
  return `${fnv1a(text, 0x811c9dc5)}${fnv1a(text, 0x01000193)}`;
}

/** 32-bit FNV-1a over UTF-16 code units, as 8 hex characters. */
function fnv1a(text: string, seed: number): string {
  let hash = seed >>> 0;
  for (let index = 0; index < text.length; index += 1) {
    hash ^= text.charCodeAt(index);
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash.toString(16).padStart(8, '0');
}
