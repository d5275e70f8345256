'use client';

import { useActiveCalls, useCallControl } from '@calltrack/react';
import { useState } from 'react';
import type { LeadRow } from '../server/campaign-router';
import { formatDuration } from './format-duration';
import { statusLabel } from './labels';

/** Props of {@link LeadList}. */
export interface LeadListProps {
  leads: LeadRow[];
  /** A call was placed to a lead from this page (for the "on call" toast). */
  onPlaced: (callId: string, lead: LeadRow) => void;
}

/**
 * The campaign's work list: each lead with its masked number and its last outcome, and "Call Now"
 * through the tracker's click-to-call route (`useCallControl`). The button only asks: the call
 * shows up, rings and connects through the webhooks that follow.
 */
export function LeadList({ leads, onPlaced }: LeadListProps) {
  const { placeCall, pending, error, reset } = useCallControl();
  const { calls } = useActiveCalls();
  const [placingLead, setPlacingLead] = useState<string | undefined>(undefined);

  const callNow = async (lead: LeadRow) => {
    reset();
    setPlacingLead(lead.id);
    try {
      const placed = await placeCall({ provider: lead.provider, to: lead.phone, from: lead.line });
      if (placed.callId) onPlaced(placed.callId, lead);
    } catch {
      // `error` says why, below the list.
    } finally {
      setPlacingLead(undefined);
    }
  };

  return (
    <section className="panel" data-testid="leads">
      <h2>Leads</h2>
      <ul className="leads">
        {leads.map((lead) => {
          const live = calls.find((call) => call.to === lead.phone);
          const last = lead.lastCall;
          return (
            <li key={lead.id} className="lead" data-testid="lead" data-lead-id={lead.id}>
              <div className="lead-main">
                <strong>{lead.name}</strong>
                <span className="muted">
                  {lead.company} · <span data-testid="lead-contact">{lead.contact}</span>
                </span>
                <span className="muted" data-testid="lead-last-call">
                  {live
                    ? `On a call · ${statusLabel(live.status)}`
                    : last
                      ? `Last call: ${statusLabel(last.outcome)}${
                          last.outcome === 'completed' && last.durationMs
                            ? ` · ${formatDuration(last.durationMs)}`
                            : ''
                        }`
                      : 'Not called yet'}
                </span>
              </div>
              <button
                type="button"
                className="call-now"
                data-testid="call-now"
                disabled={live !== undefined || pending.placing}
                onClick={() => void callNow(lead)}
              >
                {placingLead === lead.id ? 'Calling…' : 'Call Now'}
              </button>
            </li>
          );
        })}
      </ul>
      {error ? (
        <p className="error" role="alert" data-testid="call-error">
          Could not call: {error.message}
        </p>
      ) : null}
    </section>
  );
}
