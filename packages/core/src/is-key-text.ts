const unfitForKey = /[\p{Cc}\p{Cs}]/u;

/**
 * Whether `value` may be an id that becomes part of a Redis key and of database text: no control
 * character (PostgreSQL refuses NUL in text; line breaks forge log lines) and no half of a UTF-16
 * surrogate pair on its own (it has no UTF-8 form: Redis stores every lone half as U+FFFD, so two
 * different ids would become the same key). What an event's ids must be (`id`, `callId`,
 * `branchId`, `agentId`, `userId`).
 * @internal Shared with `@calltrack/dialer`, whose lead and user ids become event ids.
 */
export function isKeyText(value: string): boolean {
  return !unfitForKey.test(value);
}
