'use client';

import { useConnectionState } from '@calltrack/react';

/** Live / reconnecting / connecting, from the tRPC subscription's state. */
export function ConnectionBadge() {
  const { isConnected, reconnecting } = useConnectionState();
  const state = isConnected ? 'connected' : reconnecting ? 'reconnecting' : 'connecting';
  return (
    <span className={`badge badge-${state}`} data-testid="connection-state" data-state={state}>
      {isConnected ? 'Live' : reconnecting ? 'Reconnecting…' : 'Connecting…'}
    </span>
  );
}
