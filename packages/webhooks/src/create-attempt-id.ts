import { randomBytes } from 'node:crypto';

// Random per process, so ids from different processes never collide; a counter within it.
const processPart = randomBytes(6).toString('hex');
let lastTime = 0;
let counter = 0;

/**
 * A log row id: `att_`, then the real time and a counter in fixed-width base 36, then a part
 * random per process. Ids from one process sort in creation order, so rows logged within the same
 * millisecond still list newest first.
 */
export function createAttemptId(): string {
  const now = Date.now();
  if (now === lastTime) {
    counter += 1;
  } else {
    lastTime = now;
    counter = 0;
  }
  const time = now.toString(36).padStart(9, '0');
  const sequence = counter.toString(36).padStart(4, '0');
  return `att_${time}${sequence}${processPart}`;
}
