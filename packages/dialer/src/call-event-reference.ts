import type { CallEvent } from '@calltrack/core';

/**
 * The reference (the dialer's attempt id) a provider echoed on a call event, when the call id
 * alone does not link it: `data.reference`, CallerDesk's `campid` (`data.campaignId`), or Retell's
 * `metadata.reference`.
 */
export function callEventReference(event: CallEvent): string | undefined {
  const data = event.data as Record<string, unknown>;
  const metadata = data.metadata as Record<string, unknown> | undefined;
  for (const value of [data.reference, data.campaignId, metadata?.reference]) {
    if (typeof value === 'string' && value !== '') return value;
  }
  return undefined;
}
