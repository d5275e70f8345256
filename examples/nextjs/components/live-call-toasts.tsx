'use client';

import { useCallEvents } from '@calltrack/react';
import { useTimedList } from './use-timed-list';

interface Toast {
  key: string;
  provider: string;
  branchId: string | undefined;
}

/** A toast for every call that goes live (answered), gone after `durationMs`. */
export function LiveCallToasts({ durationMs }: { durationMs: number }) {
  const toasts = useTimedList<Toast>(durationMs, 4);
  useCallEvents({ types: ['call.answered'] }, (event) => {
    if (!event.callId) return;
    toasts.show({ key: event.callId, provider: event.provider, branchId: event.branchId });
  });
  return (
    <div className="toasts" aria-live="polite">
      {toasts.items.map((toast) => (
        <div
          key={toast.key}
          className="toast"
          role="status"
          data-testid="call-live-toast"
          data-call-id={toast.key}
        >
          <strong>Call live</strong> · {toast.provider}
          {toast.branchId ? ` · ${toast.branchId}` : ''}
        </div>
      ))}
    </div>
  );
}
