'use client';

import { CallTrackProvider, createCallTrackClient, trpcTransport } from '@calltrack/react';
import { useCallback, useState } from 'react';
import { ActiveCallsPanel } from './active-calls-panel';
import { CampaignOverview } from './campaign-overview';
import { CompletionPopups } from './completion-popups';
import { ConnectionBadge } from './connection-badge';
import { LeadList } from './lead-list';
import { LiveCallToasts } from './live-call-toasts';
import { OwnCallToast } from './own-call-toast';
import { type AppTrpcClient, createAppTrpcClient } from './trpc-client';
import { useCampaignData } from './use-campaign-data';

/** Props of {@link CampaignPage}. */
export interface CampaignPageProps {
  /** How long a completion popup stays open. */
  popupMs: number;
  /** How long a "call live" toast stays. */
  toastMs: number;
}

/**
 * The agent's campaign work page: the leads with "Call Now", live calls over tRPC, a toast while
 * the agent's own call is live, a popup when a call ends, and the campaign's figures and leads,
 * reloaded after every ended call.
 */
export function CampaignPage(props: CampaignPageProps) {
  // One tRPC client and one calltrack client per page, created once (not on every render).
  const [trpc] = useState(createAppTrpcClient);
  const [client] = useState(() =>
    createCallTrackClient({
      transport: trpcTransport({
        subscribe: (input, handlers) => trpc.calltrack.onCallEvent.subscribe(input, handlers),
        loadActiveCalls: () => trpc.calltrack.activeCallsSnapshot.query({}),
      }),
      // The tracker's API (app/api/calls): click-to-call and hang-up for useCallControl.
      api: { baseUrl: '/api' },
    }),
  );
  return (
    <CallTrackProvider client={client}>
      <Dashboard trpc={trpc} {...props} />
    </CallTrackProvider>
  );
}

function Dashboard({ trpc, popupMs, toastMs }: CampaignPageProps & { trpc: AppTrpcClient }) {
  const [endedCalls, setEndedCalls] = useState(0);
  const campaign = useCampaignData(trpc, endedCalls);
  /** The calls this agent placed, by call id → the lead's name, while they are live. */
  const [ownCalls, setOwnCalls] = useState<ReadonlyMap<string, string>>(new Map());
  const onPlaced = useCallback(
    (callId: string, lead: { name: string }) =>
      setOwnCalls((calls) => new Map(calls).set(callId, lead.name)),
    [],
  );
  const onCompleted = useCallback((callId: string) => {
    setEndedCalls((count) => count + 1);
    setOwnCalls((calls) => {
      if (!calls.has(callId)) return calls;
      const next = new Map(calls);
      next.delete(callId);
      return next;
    });
  }, []);
  const loadSummary = useCallback(
    (callId: string) => trpc.campaign.callSummary.query({ callId }),
    [trpc],
  );
  return (
    <main className="page">
      <header className="top">
        <h1>Campaign</h1>
        <ConnectionBadge />
      </header>
      <div className="columns">
        <div>
          <LeadList leads={campaign.leads} onPlaced={onPlaced} />
          <ActiveCallsPanel />
        </div>
        <div>
          {/* In the flow of the page, above the figures: they never cover a lead or a call. */}
          <div className="notifications">
            <div className="toasts" aria-live="polite">
              {[...ownCalls].map(([callId, name]) => (
                <OwnCallToast key={callId} callId={callId} name={name} />
              ))}
              <LiveCallToasts durationMs={toastMs} exclude={ownCalls} />
            </div>
            <CompletionPopups
              durationMs={popupMs}
              loadSummary={loadSummary}
              onCompleted={onCompleted}
            />
          </div>
          <CampaignOverview data={campaign} />
        </div>
      </div>
    </main>
  );
}
