'use client';

import { useConnectionState } from '@calltrack/react';

const labels = {
  connected: 'Live',
  reconnecting: 'Reconnecting…',
  disconnected: 'Disconnected',
  connecting: 'Connecting…',
} as const;

/**
 * Live / reconnecting / connecting, from the tRPC subscription's state, and disconnected once
 * the transport gave up (the server refused the subscription: signed out); its reason is the
 * badge's title.
 */
export function ConnectionBadge() {
  const { isConnected, reconnecting, error } = useConnectionState();
  const state: keyof typeof labels = isConnected
    ? 'connected'
    : reconnecting
      ? 'reconnecting'
      : error
        ? 'disconnected'
        : 'connecting';
  return (
    <span
      className={`badge badge-${state}`}
      data-testid="connection-state"
      data-state={state}
      title={error?.message}
    >
      {labels[state]}
    </span>
  );
}
