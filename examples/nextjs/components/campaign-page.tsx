'use client';

import { CallTrackProvider, createCallTrackClient, trpcTransport } from '@calltrack/react';
import { useCallback, useState } from 'react';
import { ActiveCallsPanel } from './active-calls-panel';
import { CampaignOverview } from './campaign-overview';
import { CompletionPopups } from './completion-popups';
import { ConnectionBadge } from './connection-badge';
import { LiveCallToasts } from './live-call-toasts';
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
 * The agent's campaign work page: live calls over tRPC, a toast when a call goes live, a popup
 * when one ends, and the campaign's figures, reloaded after every ended call.
 */
export function CampaignPage(props: CampaignPageProps) {
  // One tRPC client and one calltrack client per page, created once (not on every render).
  const [trpc] = useState(createAppTrpcClient);
  const [client] = useState(() =>
    createCallTrackClient({
      transport: trpcTransport({
        subscribe: (input, handlers) => trpc.calltrack.onCallEvent.subscribe(input, handlers),
        loadActiveCalls: () => trpc.calltrack.activeCalls.query({}),
      }),
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
  const onCompleted = useCallback(() => setEndedCalls((count) => count + 1), []);
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
        <ActiveCallsPanel />
        <div>
          <CampaignOverview data={campaign} />
        </div>
      </div>
      <LiveCallToasts durationMs={toastMs} />
      <CompletionPopups durationMs={popupMs} loadSummary={loadSummary} onCompleted={onCompleted} />
    </main>
  );
}
