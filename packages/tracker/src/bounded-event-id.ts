import { hashText } from '@calltrack/core/internal';

const maxLength = 256;

/**
 * Returns `id` when it fits the event schema's 256 characters; otherwise a stable shortened form
 * (`<first 200 characters>~<16 hex characters of a hash of the whole id>`), so the same long input
 * always yields the same id. Plain JavaScript (no `node:crypto`), so the main entry runs on edge
 * runtimes too.
 */
export function boundedEventId(id: string): string {
  if (id.length <= maxLength) return id;
  return `${id.slice(0, 200)}~${hashText(id)}`;
}
