import type { CallDirection } from '@calltrack/core';

const directions: Readonly<Record<string, CallDirection>> = {
  inbound: 'inbound',
  outbound: 'outbound',
  'outbound-api': 'outbound',
  'outbound-dial': 'outbound',
  // Elastic SIP Trunking: terminating = your PBX calls out, originating = the PSTN calls in.
  'trunking-terminating': 'outbound',
  'trunking-originating': 'inbound',
};

/**
 * Maps Twilio's `Direction` to `inbound` / `outbound`: `inbound` and `trunking-originating` are
 * inbound; `outbound-api` (REST-created), `outbound-dial` (a `<Dial>` child leg) and
 * `trunking-terminating` are outbound. Returns `undefined` for anything else.
 */
export function mapTwilioDirection(
  direction: string | null | undefined,
): CallDirection | undefined {
  if (typeof direction !== 'string') return undefined;
  const key = direction.trim().toLowerCase();
  return Object.hasOwn(directions, key) ? directions[key] : undefined;
}
