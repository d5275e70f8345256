/**
 * Compares two strings in time that depends only on their lengths, not on where they differ, so
 * a secret cannot be guessed byte by byte from response times. Runs on every JavaScript runtime.
 */
export function timingSafeEqual(a: string, b: string): boolean {
  const length = Math.max(a.length, b.length);
  let difference = a.length ^ b.length;
  for (let index = 0; index < length; index += 1) {
    difference |= (a.charCodeAt(index) | 0) ^ (b.charCodeAt(index) | 0);
  }
  return difference === 0;
}
