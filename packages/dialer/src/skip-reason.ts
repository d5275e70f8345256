/**
 * Why the dialer skipped a lead. A skipped lead is not claimed: it stays pending, keeps its
 * chance to be called later, and the skip is recorded on it and published as
 * `dialer.lead_skipped`.
 * - `invalid_phone`: the number is not E.164 (`+` and 8 to 15 digits);
 * - `missing_time_zone`: the lead has no time zone and the dialer no default;
 * - `invalid_time_zone`: the lead's time zone is not an IANA zone;
 * - `do_not_call`: the number is on the do-not-call list, or your hook said so;
 * - `do_not_call_unavailable`: the do-not-call check failed (fail closed: no check, no call);
 * - `outside_calling_window`: now is outside the calling window in the lead's time zone
 *   (`retryAt`: when the next window opens);
 * - `attempt_cap`: the lead was attempted `maxAttempts` times;
 * - `too_soon`: the last attempt was less than `minAttemptGapMs` ago (`retryAt`).
 */
export type SkipReason =
  | 'invalid_phone'
  | 'missing_time_zone'
  | 'invalid_time_zone'
  | 'do_not_call'
  | 'do_not_call_unavailable'
  | 'outside_calling_window'
  | 'attempt_cap'
  | 'too_soon';

/** Every {@link SkipReason}. */
export const skipReasons: readonly SkipReason[] = [
  'invalid_phone',
  'missing_time_zone',
  'invalid_time_zone',
  'do_not_call',
  'do_not_call_unavailable',
  'outside_calling_window',
  'attempt_cap',
  'too_soon',
];
