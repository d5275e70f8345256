'use client';

import { callIdPathSegment } from '@calltrack/core';
import type { CallSummary } from '../server/call-summary';
import { formatDuration } from './format-duration';
import { providerLabel, statusLabel } from './labels';
import type { CampaignData } from './use-campaign-data';

/** The campaign's figures (last 24 hours) and the calls that ended last. */
export function CampaignOverview({ data }: { data: CampaignData }) {
  const { stats, recentCalls, loads, error } = data;
  return (
    <>
      <section className="panel" data-testid="campaign-stats" data-loads={loads}>
        <h2>Campaign · last 24 h</h2>
        {error ? (
          <p className="error" data-testid="campaign-error">
            {error}
          </p>
        ) : null}
        <dl className="stats">
          <Stat label="Ended" testId="stat-ended" value={stats?.endedCalls} />
          <Stat label="Answered" testId="stat-answered" value={stats?.answeredCalls} />
          {/* Past the 1,000 ended calls the tracker lists, voicemail is counted only among them. */}
          <Stat
            label={stats?.voicemailCountedFrom ? 'Completed (voicemail in)' : 'Completed'}
            testId="stat-completed"
            value={stats?.completedCalls}
          />
          <Stat
            label={
              stats?.voicemailCountedFrom
                ? `Voicemail since ${stats.voicemailCountedFrom.slice(11, 16)} UTC`
                : 'Voicemail'
            }
            testId="stat-voicemail"
            value={stats?.voicemailCalls}
          />
          <Stat label="Busy" testId="stat-busy" value={stats?.busyCalls} />
          <Stat label="No answer" testId="stat-no-answer" value={stats?.noAnswerCalls} />
          <Stat label="Canceled" testId="stat-canceled" value={stats?.canceledCalls} />
          <Stat label="Failed" testId="stat-failed" value={stats?.failedCalls} />
          <Stat
            label="Avg talk time"
            testId="stat-average"
            value={
              stats?.averageDurationMs == null ? undefined : formatDuration(stats.averageDurationMs)
            }
          />
        </dl>
      </section>
      <section className="panel" data-testid="recent-calls">
        <h2>Recently ended</h2>
        {recentCalls.length === 0 ? <p className="muted">No ended calls yet.</p> : null}
        <ul className="calls">
          {recentCalls.map((call) => (
            <RecentCall key={call.callId} call={call} />
          ))}
        </ul>
      </section>
    </>
  );
}

function Stat({ label, testId, value }: { label: string; testId: string; value: unknown }) {
  return (
    <div>
      <dt>{label}</dt>
      <dd data-testid={testId}>{value === undefined ? '–' : String(value)}</dd>
    </div>
  );
}

function RecentCall({ call }: { call: CallSummary }) {
  return (
    <li
      className={`call recent-call call-${call.outcome ?? 'unknown'}`}
      data-testid="recent-call"
      data-call-id={call.callId}
      data-status={call.status}
      data-outcome={call.outcome}
    >
      <span className="call-status">{statusLabel(call.outcome)}</span>
      <span className="call-contact">{call.contact}</span>
      <span className="call-provider">{providerLabel(call.provider)}</span>
      <span className="call-duration">
        {/* Nobody talked to a machine, or on a call nobody answered: no talk time. */}
        {call.outcome === 'voicemail' || (call.outcome !== 'completed' && !call.durationMs)
          ? '–'
          : formatDuration(call.durationMs)}
      </span>
      {call.recordingUrl ? (
        // Played through the app: the provider's URL needs the account's credentials.
        <a
          href={`/api/calls/${callIdPathSegment(call.callId)}/recording`}
          target="_blank"
          rel="noreferrer"
        >
          Recording
        </a>
      ) : null}
    </li>
  );
}
