'use client';

import { useCallEvents } from '@calltrack/react';
import type { TrackedCall } from '@calltrack/tracker';
import { toCallSummary } from './call-summary';
import { useTimedList } from './use-timed-list';

interface Toast {
  key: string;
  contact: string;
  provider: string | undefined;
}

/** A toast for every call that goes live (answered), gone after `durationMs`. */
export function LiveCallToasts({ durationMs }: { durationMs: number }) {
  const toasts = useTimedList<Toast>(durationMs, 4);
  useCallEvents({ types: ['call.answered'] }, (event) => {
    if (!event.callId) return;
    const call = (event.data as { call?: TrackedCall } | undefined)?.call;
    const summary = toCallSummary(call ?? event);
    toasts.show({ key: event.callId, contact: summary.contact, provider: summary.provider });
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
          <strong>Call live</strong> {toast.contact} · {toast.provider}
        </div>
      ))}
    </div>
  );
}
