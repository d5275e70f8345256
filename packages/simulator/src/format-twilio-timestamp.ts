/**
 * RFC 2822 in UTC, the way Twilio writes `Timestamp` and the Call resource's dates:
 * `Sun, 25 Mar 2018 09:53:19 +0000`. @internal
 */
export function formatTwilioTimestamp(milliseconds: number): string {
  return new Date(milliseconds).toUTCString().replace(/GMT$/, '+0000');
}
