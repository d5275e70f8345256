import { AmbiguousCredentialsError } from './errors/ambiguous-credentials-error';

/**
 * The one value of a credential (a signature header, a token parameter) among what a request
 * carried: every occurrence, already split where the transport joins repeats (Node and fetch join
 * a repeated header with ", "). Values are trimmed and empty ones dropped; the same value twice is
 * one value. Two different values throw `AmbiguousCredentialsError` (400) naming `what`: which one
 * was meant would be a guess. Returns undefined when there is none.
 */
export function singleCredential(values: readonly string[], what: string): string | undefined {
  let found: string | undefined;
  for (const value of values) {
    const trimmed = value.trim();
    if (trimmed === '') continue;
    if (found === undefined) found = trimmed;
    else if (found !== trimmed) {
      throw new AmbiguousCredentialsError({
        message: `The request carries ${what} more than once, with different values.`,
      });
    }
  }
  return found;
}
