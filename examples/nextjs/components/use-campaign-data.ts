'use client';

import { useEffect, useRef, useState } from 'react';
import type { CallSummary } from '../server/call-summary';
import type { CampaignStats, LeadRow } from '../server/campaign-router';
import type { AppTrpcClient } from './trpc-client';

/** The campaign figures and recent calls, and how many times they have been loaded. */
export interface CampaignData {
  stats: CampaignStats | undefined;
  recentCalls: CallSummary[];
  /** The leads with their last call. */
  leads: LeadRow[];
  /** Completed loads; grows by one per refresh (the browser tests wait on it). */
  loads: number;
  error: string | undefined;
}

/**
 * Loads the campaign stats, recent calls and leads through tRPC (one batched request), and again every
 * time `version` changes (after a call ended). Changes while a load runs are folded into one
 * more load, so a burst of ended calls costs two requests, not one per call.
 */
export function useCampaignData(trpc: AppTrpcClient, version: number): CampaignData {
  const [data, setData] = useState<CampaignData>({
    stats: undefined,
    recentCalls: [],
    leads: [],
    loads: 0,
    error: undefined,
  });
  const loading = useRef<{ running: boolean; again: boolean; mounted: boolean }>({
    running: false,
    again: false,
    mounted: true,
  });

  useEffect(() => {
    const state = loading.current;
    state.mounted = true;
    return () => {
      state.mounted = false;
    };
  }, []);

  useEffect(() => {
    // `version` is the trigger; the load itself reads no props.
    void version;
    const state = loading.current;
    if (state.running) {
      state.again = true;
      return;
    }
    const load = async (): Promise<void> => {
      state.running = true;
      do {
        state.again = false;
        try {
          const [stats, recentCalls, leads] = await Promise.all([
            trpc.campaign.stats.query(),
            trpc.campaign.recentCalls.query({ limit: 8 }),
            trpc.campaign.leads.query(),
          ]);
          if (state.mounted) {
            setData((current) => ({
              stats,
              recentCalls,
              leads,
              loads: current.loads + 1,
              error: undefined,
            }));
          }
        } catch (error) {
          if (state.mounted) {
            setData((current) => ({
              ...current,
              error: error instanceof Error ? error.message : String(error),
            }));
          }
        }
      } while (state.again && state.mounted);
      state.running = false;
    };
    void load();
  }, [trpc, version]);

  return data;
}
