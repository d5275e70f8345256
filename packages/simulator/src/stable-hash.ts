/**
 * FNV-1a, 32 bits: a stable number for a string, so identifiers derived from a line or a tenant
 * (account SIDs, agent ids) are the same in every run whatever the seed.
 *
 * @internal
 */
export function stableHash(text: string): number {
  let hash = 0x811c9dc5;
  for (let index = 0; index < text.length; index += 1) {
    hash ^= text.charCodeAt(index);
    hash = Math.imul(hash, 0x01000193);
  }
  return hash >>> 0;
}
