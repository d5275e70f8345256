import { timingSafeEqual } from '@calltrack/core';

/** Options of {@link verifyCallerDeskToken}. */
export interface VerifyCallerDeskTokenOptions {
  /**
   * The secret token(s) configured for this webhook URL. Give several during a rotation: the
   * old and the new token are both accepted until CallerDesk's dashboard uses the new one.
   */
  expected: string | readonly string[];
  /** The token the request carried (from the path, the query or a header). */
  provided: string | null | undefined;
}

/**
 * Checks the shared-secret token of a CallerDesk webhook. CallerDesk signs nothing, so the usual
 * protection is an unguessable per-tenant token in the webhook URL (path or query) or a header,
 * compared here in constant time (every expected token is compared, whatever matches).
 *
 * Returns `false` for a missing or empty token on either side and never throws.
 */
export function verifyCallerDeskToken(options: VerifyCallerDeskTokenOptions): boolean {
  try {
    const { expected, provided } = options;
    if (typeof provided !== 'string' || provided === '') return false;
    const candidates = typeof expected === 'string' ? [expected] : expected;
    if (!Array.isArray(candidates)) return false;
    let matched = false;
    for (const candidate of candidates) {
      if (typeof candidate !== 'string' || candidate === '') continue;
      // Bitwise OR keeps the loop free of an early exit.
      matched = timingSafeEqual(candidate, provided) || matched;
    }
    return matched;
  } catch {
    return false;
  }
}
