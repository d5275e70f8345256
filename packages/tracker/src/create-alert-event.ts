import type { CallEvent } from '@calltrack/core';
import { boundedEventId } from './bounded-event-id';
import type { TrackerAlertType } from './call-alert-options';

/** What an alert says, besides its type. */
export interface AlertDetails {
  tenantId: string;
  type: TrackerAlertType;
  /** The deterministic part of the id: the rule's subject and window. */
  key: string;
  at: number;
  message: string;
  /** The measured value (calls, a rate, minutes). */
  value: number;
  /** The configured limit it crossed. */
  threshold: number;
  branchId?: string;
  callId?: string;
  /** Extra fields for `data`. */
  data?: Record<string, unknown>;
}

/**
 * Builds an `alert.*` event: `provider: 'calltrack'`, id
 * `calltrack:alert:<tenant>:<key>`, `data.rule`, `data.message`, `data.value`, `data.threshold`.
 */
export function createAlertEvent(details: AlertDetails): CallEvent {
  const time = new Date(details.at).toISOString();
  return {
    id: boundedEventId(`calltrack:alert:${details.tenantId}:${details.key}`),
    type: details.type,
    tenantId: details.tenantId,
    provider: 'calltrack',
    ...(details.branchId === undefined ? {} : { branchId: details.branchId }),
    ...(details.callId === undefined ? {} : { callId: details.callId }),
    occurredAt: time,
    receivedAt: time,
    data: {
      rule: details.type.slice('alert.'.length),
      message: details.message,
      value: details.value,
      threshold: details.threshold,
      ...details.data,
    },
  };
}
