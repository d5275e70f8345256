'use client';

import { useCall, useCallCompleted } from '@calltrack/react';
import type { TrackedCall } from '@calltrack/tracker';
import { type CallSummary, formatDuration, toCallSummary } from './call-summary';
import { useTimedList } from './use-timed-list';

interface Popup {
  key: string;
  summary: CallSummary;
}

/**
 * A popup for every call that ends: status, talk time, the masked contact and the recording,
 * closing itself after `durationMs` (10 s on the page; tests pass `?popupMs=`).
 * `onCompleted` runs once per ended call.
 */
export function CompletionPopups({
  durationMs,
  onCompleted,
}: {
  durationMs: number;
  onCompleted: (callId: string) => void;
}) {
  const popups = useTimedList<Popup>(durationMs, 3);
  useCallCompleted((event, call) => {
    if (!event.callId) return;
    popups.show({
      key: event.callId,
      summary: toCallSummary((call as TrackedCall | undefined) ?? event),
    });
    onCompleted(event.callId);
  });
  return (
    <div className="popups">
      {popups.items.map((popup) => (
        <CompletionPopup
          key={popup.key}
          summary={popup.summary}
          onClose={() => popups.remove(popup.key)}
        />
      ))}
    </div>
  );
}

function CompletionPopup({ summary, onClose }: { summary: CallSummary; onClose: () => void }) {
  // Watch the call while the popup is open: Twilio's recording callback comes after the end.
  const live = useCall(summary.callId);
  const recordingUrl = (live?.recordingUrl as string | undefined) ?? summary.recordingUrl;
  return (
    <div
      className={`popup popup-${summary.status ?? 'unknown'}`}
      role="dialog"
      aria-label="Call ended"
      data-testid="completion-popup"
      data-call-id={summary.callId}
    >
      <header>
        <strong>Call ended</strong>
        <button type="button" onClick={onClose} aria-label="Close" data-testid="popup-close">
          ×
        </button>
      </header>
      <dl>
        <dt>Status</dt>
        <dd data-testid="popup-status">{summary.status ?? 'unknown'}</dd>
        <dt>Duration</dt>
        <dd data-testid="popup-duration">{formatDuration(summary.durationMs)}</dd>
        <dt>Contact</dt>
        <dd data-testid="popup-contact">{summary.contact}</dd>
        <dt>Recording</dt>
        <dd>
          {recordingUrl ? (
            <a href={recordingUrl} target="_blank" rel="noreferrer" data-testid="popup-recording">
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
