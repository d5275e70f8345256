/**
 * Where a calltrack package reads the time: every factory that reads it takes a `clock` option of
 * this shape (default: `Date.now`), so a test moves one clock instead of sleeping. Packages that
 * also wait on it ask for more: the dialer's `DialerClock` adds `sleep`, the webhook
 * dispatcher's `WebhookClock` adds `setTimer`; the test clocks their `/testing` entries export
 * fit every `clock` option.
 */
export interface Clock {
  /** Milliseconds since the epoch. */
  now(): number;
}
