import type { CallEvent } from '@calltrack/core';
import type {
  DialerCallPlacedData,
  DialerLeadSkippedData,
  DialerRunFinishedData,
  DialerRunStartedData,
} from './dialer-event-data';

/** What each dialer event type carries. */
export interface DialerEventDataByType {
  'dialer.run_started': DialerRunStartedData;
  'dialer.lead_skipped': DialerLeadSkippedData;
  'dialer.call_placed': DialerCallPlacedData;
  'dialer.run_finished': DialerRunFinishedData;
}

/**
 * Builds a dialer event for the bus. Ids are deterministic (run id, lead id, attempt id), so a
 * publish retried after a failure is dropped as a duplicate.
 */
export function createDialerEvent<Type extends keyof DialerEventDataByType>(
  type: Type,
  fields: {
    id: string;
    tenantId: string;
    userId: string;
    at: number;
    data: DialerEventDataByType[Type];
    provider?: string;
    callId?: string;
    to?: string;
  },
): CallEvent {
  const time = new Date(fields.at).toISOString();
  return {
    id: fields.id,
    type,
    tenantId: fields.tenantId,
    userId: fields.userId,
    provider: fields.provider ?? 'calltrack',
    ...(fields.callId === undefined ? {} : { callId: fields.callId }),
    ...(fields.to === undefined ? {} : { to: fields.to, direction: 'outbound' as const }),
    occurredAt: time,
    receivedAt: time,
    data: { ...fields.data },
  };
}
