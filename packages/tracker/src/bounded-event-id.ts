const maxLength = 256;

/**
 * Returns `id` when it fits the event schema's 256 characters; otherwise a stable shortened form
 * (`<first 200 characters>~<16 hex characters of a hash of the whole id>`), so the same long input
 * always yields the same id. Plain JavaScript (no `node:crypto`), so the main entry runs on edge
 * runtimes too.
 */
export function boundedEventId(id: string): string {
  if (id.length <= maxLength) return id;
  return `${id.slice(0, 200)}~${fnv1a(id, 0x811c9dc5)}${fnv1a(id, 0x01000193)}`;
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
