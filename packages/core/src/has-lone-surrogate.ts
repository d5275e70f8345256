const loneSurrogate = /\p{Cs}/u;

/**
 * Whether `value` holds half of a UTF-16 surrogate pair on its own. Such a string has no UTF-8
 * form: Redis stores every lone half as U+FFFD, so two different ids would become the same key.
 */
export function hasLoneSurrogate(value: string): boolean {
  return loneSurrogate.test(value);
}
