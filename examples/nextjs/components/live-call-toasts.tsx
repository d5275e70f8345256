'use client';

import { useCallEvents } from '@calltrack/react';
import { branchLabel, providerLabel } from './labels';
import { useTimedList } from './use-timed-list';

interface Toast {
  key: string;
  provider: string;
  branchId: string | undefined;
}

/**
 * A toast for every other call that goes live (answered), gone after `durationMs`; the agent's
 * own calls (`exclude`) have their own toast for as long as they are live.
 */
export function LiveCallToasts({
  durationMs,
  exclude,
}: {
  durationMs: number;
  exclude: ReadonlyMap<string, unknown>;
}) {
  const toasts = useTimedList<Toast>(durationMs, 3);
  useCallEvents({ types: ['call.answered'] }, (event) => {
    if (!event.callId || exclude.has(event.callId)) return;
    toasts.show({ key: event.callId, provider: event.provider, branchId: event.branchId });
  });
  return (
    <>
      {toasts.items.map((toast) => (
        <div
          key={toast.key}
          className="toast"
          role="status"
          data-testid="call-live-toast"
          data-call-id={toast.key}
        >
          <strong>Call live</strong> · {providerLabel(toast.provider)} ·{' '}
          {branchLabel(toast.branchId)}
        </div>
      ))}
    </>
  );
}
