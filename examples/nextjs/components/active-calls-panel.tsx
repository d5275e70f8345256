'use client';

import type { CallSnapshot } from '@calltrack/core';
import { maskPhoneNumber } from '@calltrack/core';
import { useActiveCalls } from '@calltrack/react';
import { formatDuration } from './format-duration';
import { branchLabel, providerLabel, statusLabel } from './labels';
import { useNow } from './use-now';

function text(value: unknown): string | undefined {
  return typeof value === 'string' ? value : undefined;
}

function runningSince(call: CallSnapshot): number | undefined {
  // Talk time once answered, otherwise time since the call started.
  const since = text(call.answeredAt) ?? text(call.startedAt) ?? text(call.createdAt);
  const ms = since ? Date.parse(since) : Number.NaN;
  return Number.isNaN(ms) ? undefined : ms;
}

/** The tenant's live calls, newest first, with a running duration. */
export function ActiveCallsPanel() {
  const { calls, isLoaded } = useActiveCalls();
  const now = useNow(1000, calls.length > 0);
  return (
    <section className="panel" data-testid="active-calls" data-loaded={isLoaded}>
      <h2>
        Active calls <span data-testid="active-count">{calls.length}</span>
      </h2>
      {!isLoaded ? <p className="muted">Loading…</p> : null}
      {isLoaded && calls.length === 0 ? (
        <p className="muted" data-testid="no-active-calls">
          No calls right now.
        </p>
      ) : null}
      <ul className="calls">
        {calls.map((call) => {
          const since = runningSince(call);
          return (
            <li
              key={call.callId}
              className={`call call-${call.status ?? 'unknown'}`}
              data-testid="active-call"
              data-call-id={call.callId}
              data-status={call.status}
            >
              <span className="call-status">{statusLabel(call.status)}</span>
              <span data-testid="call-contact">
                {/* The customer: the callee of an outbound call, the caller of an inbound one. */}
                {maskPhoneNumber(call.direction === 'outbound' ? call.to : call.from) || 'Web call'}
              </span>
              <span className="muted">
                {call.direction === 'outbound' ? 'Outbound' : 'Inbound'} ·{' '}
                {branchLabel(call.branchId)}
              </span>
              <span className="call-provider">{providerLabel(call.provider)}</span>
              <span className="call-duration" data-testid="call-duration">
                {since === undefined ? '–' : formatDuration(Math.max(0, now - since))}
              </span>
            </li>
          );
        })}
      </ul>
    </section>
  );
}
