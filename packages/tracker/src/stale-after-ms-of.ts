import type { CallStatus } from '@calltrack/core';
import type { CallTransitionSettings } from './call-transition';

/**
 * How long an active call in `status` may go without a change before the reaper closes it:
 * `answeredStaleAfterMs` once it is answered (Twilio and CallerDesk send nothing between the
 * answer and the end, so a long call is quiet for as long as it talks), else `staleAfterMs`. The
 * Redis store's `call-indexes` fragment applies the same rule.
 */
export function staleAfterMsOf(
  status: CallStatus | undefined,
  settings: Pick<CallTransitionSettings, 'staleAfterMs' | 'answeredStaleAfterMs'>,
): number {
  return status === 'in-progress' ? settings.answeredStaleAfterMs : settings.staleAfterMs;
}
