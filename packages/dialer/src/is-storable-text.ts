/**
 * Whether every store can keep `text` as it was given: PostgreSQL's text has no NUL, and UTF-8
 * no lone surrogate (Redis would keep U+FFFD instead, so two values would become one).
 */
export function isStorableText(text: string): boolean {
  return !text.includes('\u0000') && !/\p{Cs}/u.test(text);
}
