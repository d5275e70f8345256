'use client';

import { useCall, useCallControl } from '@calltrack/react';
import { statusLabel } from './labels';

/**
 * The toast of the call this agent placed, for as long as it is live: who, how it stands, and a
 * hang-up. It leaves when the call ends (the completion popup takes over).
 */
export function OwnCallToast({ callId, name }: { callId: string; name: string }) {
  const call = useCall(callId);
  const { terminateCall, pending } = useCallControl();
  // Before the first webhook the call is not known yet: it is being dialed.
  if (call !== undefined && call.active === false) return null;
  const ending = pending.isTerminating(callId);
  return (
    <div
      className="toast toast-own"
      role="status"
      data-testid="own-call-toast"
      data-call-id={callId}
      data-status={call?.status ?? 'queued'}
    >
      <strong>{name}</strong> · {statusLabel(call?.status ?? 'queued')}
      <button
        type="button"
        className="hang-up"
        data-testid="hang-up"
        disabled={ending}
        onClick={() => void terminateCall(callId).catch(() => {})}
      >
        {ending ? 'Ending…' : 'Hang up'}
      </button>
    </div>
  );
}
