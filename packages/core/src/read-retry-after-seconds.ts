/**
 * When a provider's answer says to come back: the `Retry-After` header of a 429 (rate limited) or
 * 503 (unavailable) answer, as delay-seconds (rounded up) or an HTTP date (the whole seconds from
 * `now` until then, never negative). Undefined for any other status, and when the header is
 * missing or unreadable. What the provider clients put in `ProviderApiError.retryAfterSeconds`.
 *
 * @example readRetryAfterSeconds(response) // 7 for a 429 with "Retry-After: 7"
 */
export function readRetryAfterSeconds(
  response: { status: number; headers: Headers },
  now: number = Date.now(),
): number | undefined {
  if (response.status !== 429 && response.status !== 503) return undefined;
  const text = response.headers.get('retry-after')?.trim();
  if (text === undefined || text === '') return undefined;
  if (/^\d+(\.\d+)?$/.test(text)) return Math.ceil(Number(text));
  // An HTTP date names its day and month ("Wed, 21 Oct 2026 07:28:00 GMT"); Date.parse alone
  // would read "-5" as a year.
  if (!/[a-z]{3}/i.test(text)) return undefined;
  const date = Date.parse(text);
  if (!Number.isFinite(date)) return undefined;
  return Math.max(0, Math.ceil((date - now) / 1000));
}
