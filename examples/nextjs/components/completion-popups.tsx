'use client';

import { type CallSnapshot, callIdPathSegment } from '@calltrack/core';
import { useCall, useCallCompleted } from '@calltrack/react';
import { useEffect, useState } from 'react';
import type { CallSummary } from '../server/call-summary';
import { formatDuration } from './format-duration';
import { statusLabel } from './labels';
import { useTimedList } from './use-timed-list';

interface Popup {
  key: string;
  /** The call as the `call.ended` event carried it. */
  call: CallSnapshot | undefined;
  status: string | undefined;
}

/** Props of {@link CompletionPopups}. */
export interface CompletionPopupsProps {
  /** How long a popup stays open. */
  durationMs: number;
  /** Reads the call's summary (masked contact) from the server. */
  loadSummary: (callId: string) => Promise<CallSummary | null>;
  /** Runs once per ended call. */
  onCompleted: (callId: string) => void;
}

/**
 * A popup for every call that ends: status, talk time, the masked contact and the recording,
 * closing itself after `durationMs` (10 s on the page; tests pass `?popupMs=`).
 */
export function CompletionPopups({ durationMs, loadSummary, onCompleted }: CompletionPopupsProps) {
  const popups = useTimedList<Popup>(durationMs, 3);
  useCallCompleted((event, call) => {
    if (!event.callId) return;
    popups.show({ key: event.callId, call, status: call?.status ?? event.status });
    onCompleted(event.callId);
  });
  return (
    <div className="popups">
      {popups.items.map((popup, index) => (
        <CompletionPopup
          key={popup.key}
          popup={popup}
          // At volume only the newest is shown in full; the older ones shrink to one line.
          collapsed={index < popups.items.length - 1}
          loadSummary={loadSummary}
          onClose={() => popups.remove(popup.key)}
        />
      ))}
    </div>
  );
}

function CompletionPopup({
  popup,
  collapsed,
  loadSummary,
  onClose,
}: {
  popup: Popup;
  collapsed: boolean;
  loadSummary: CompletionPopupsProps['loadSummary'];
  onClose: () => void;
}) {
  const callId = popup.key;
  // The contact comes masked from the server; the browser never formats phone numbers itself.
  const [summary, setSummary] = useState<CallSummary | null | undefined>(undefined);
  useEffect(() => {
    let current = true;
    loadSummary(callId).then(
      (loaded) => current && setSummary(loaded),
      () => current && setSummary(null),
    );
    return () => {
      current = false;
    };
  }, [callId, loadSummary]);
  // Watched while the popup is open: Twilio's recording callback comes after the end.
  const live = useCall(callId);
  const recordingUrl =
    (typeof live?.recordingUrl === 'string' ? live.recordingUrl : undefined) ??
    summary?.recordingUrl;
  const durationMs = typeof popup.call?.durationMs === 'number' ? popup.call.durationMs : undefined;
  const outcome = summary?.outcome ?? popup.status;
  const talkTime = durationMs ?? summary?.durationMs;
  const duration =
    outcome === 'voicemail'
      ? 'voicemail'
      : outcome !== 'completed' && !talkTime
        ? 'not answered'
        : formatDuration(talkTime);
  return (
    <div
      className={`popup popup-${outcome ?? 'unknown'}${collapsed ? ' popup-collapsed' : ''}`}
      role="dialog"
      aria-label="Call ended"
      data-testid="completion-popup"
      data-call-id={callId}
    >
      <header>
        <strong>Call ended</strong>
        <span className="popup-summary muted">
          {statusLabel(outcome)} · {summary?.contact ?? '…'}
        </span>
        <button type="button" onClick={onClose} aria-label="Close" data-testid="popup-close">
          ×
        </button>
      </header>
      <dl>
        <dt>Status</dt>
        <dd data-testid="popup-status" data-status={popup.status}>
          {statusLabel(outcome)}
        </dd>
        <dt>Duration</dt>
        <dd data-testid="popup-duration">{duration}</dd>
        <dt>Contact</dt>
        <dd data-testid="popup-contact">
          {summary === undefined ? '…' : (summary?.contact ?? '–')}
        </dd>
        <dt>Recording</dt>
        <dd>
          {recordingUrl ? (
            // Played through the app: the provider's URL needs the account's credentials.
            <a
              href={`/api/calls/${callIdPathSegment(callId)}/recording`}
              target="_blank"
              rel="noreferrer"
              data-testid="popup-recording"
            >
              Listen
            </a>
          ) : (
            <span className="muted">none</span>
          )}
        </dd>
      </dl>
    </div>
  );
}
