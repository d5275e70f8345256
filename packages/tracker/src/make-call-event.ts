import type { CallEvent, CallStatus } from '@calltrack/core';
import type { CallTransition, CallTransitionSettings } from './call-transition';
import { toCallTransition } from './to-call-transition';

// The calls the store conformance suites (`@calltrack/tracker/testing`) and the package's own tests
// are made of. It lives beside the code, not in __tests__, because the published suite needs it;
// none of it is exported from an entry.

/** 2026-11-21T10:00:00.000Z: the tests' epoch. */
export const t0 = Date.parse('2026-11-21T10:00:00.000Z');

/** ISO time `ms` after {@link t0}. */
export const isoAt = (ms: number): string => new Date(t0 + ms).toISOString();

let counter = 0;

/** A valid call event for tests; the id is unique unless given. */
export function makeCallEvent(overrides: Partial<CallEvent> = {}): CallEvent {
  counter += 1;
  return {
    id: `test:${process.pid}:${counter}`,
    type: 'call.ringing',
    tenantId: 'tenant-a',
    provider: 'twilio',
    callId: `CA${counter}`,
    status: 'ringing',
    occurredAt: isoAt(0),
    receivedAt: isoAt(100),
    data: {},
    ...overrides,
  };
}

/**
 * Settings for store tests: 30 s publish lease, 1 day retention, stale after 1 hour (4 hours
 * once answered).
 */
export const testSettings: CallTransitionSettings = {
  publishLeaseMs: 30_000,
  endedCallRetentionMs: 86_400_000,
  staleAfterMs: 3_600_000,
  answeredStaleAfterMs: 4 * 3_600_000,
  analyticsRetentionMs: { minute: 86_400_000, hour: 30 * 86_400_000, day: 30 * 86_400_000 },
};

/**
 * The transition of an event ingested `atMs` after {@link t0}: made by `toCallTransition`, the
 * very function the tracker makes a store's transitions with, so a store is tested on what it gets.
 */
export function transitionOf(
  event: CallEvent,
  atMs: number,
  extra: Partial<CallTransition> = {},
): CallTransition {
  return { ...toCallTransition(event, t0 + atMs, testSettings), ...extra };
}

/** Options of {@link callLifecycle}. */
export interface LifecycleOptions {
  tenantId?: string;
  callId: string;
  branchId?: string;
  agentId?: string;
  /** When it starts, ms after {@link t0}. Default 0. */
  startMs?: number;
  /** Talk time, ms. Default 60 s. */
  talkMs?: number;
  endStatus?: CallStatus;
  from?: string;
  to?: string;
}

/**
 * A Twilio-like lifecycle with provider sequence numbers: initiated (0), ringing (1),
 * answered (2), ended (3) with `durationMs`, then a recording and an analysis (no sequence).
 */
export function callLifecycle(options: LifecycleOptions): CallEvent[] {
  const start = options.startMs ?? 0;
  const talk = options.talkMs ?? 60_000;
  const common = {
    tenantId: options.tenantId ?? 'tenant-a',
    provider: 'twilio',
    callId: options.callId,
    direction: 'inbound' as const,
    from: options.from ?? '+14155550100',
    to: options.to ?? '+14155550199',
    ...(options.branchId === undefined ? {} : { branchId: options.branchId }),
    ...(options.agentId === undefined ? {} : { agentId: options.agentId }),
  };
  const id = (suffix: string): string => `twilio:${options.callId}:${suffix}`;
  const at = (ms: number) => ({
    occurredAt: isoAt(start + ms),
    receivedAt: isoAt(start + ms + 50),
  });
  return [
    {
      ...common,
      ...at(0),
      id: id('queued'),
      type: 'call.initiated',
      status: 'queued',
      sequence: 0,
      data: {},
    },
    {
      ...common,
      ...at(2000),
      id: id('ringing'),
      type: 'call.ringing',
      status: 'ringing',
      sequence: 1,
      data: {},
    },
    {
      ...common,
      ...at(5000),
      id: id('in-progress'),
      type: 'call.answered',
      status: 'in-progress',
      sequence: 2,
      data: {},
    },
    {
      ...common,
      ...at(5000 + talk),
      id: id(options.endStatus ?? 'completed'),
      type: 'call.ended',
      status: options.endStatus ?? 'completed',
      sequence: 3,
      data: { durationMs: talk },
    },
    {
      ...common,
      ...at(5000 + talk + 1000),
      id: id('recording:RE1'),
      type: 'call.recording',
      data: {
        recordingUrl: `https://api.example.com/${options.callId}.mp3`,
        recordingDurationMs: talk,
      },
    },
    {
      ...common,
      ...at(5000 + talk + 30_000),
      id: id('analyzed'),
      type: 'call.analyzed',
      status: options.endStatus ?? 'completed',
      data: { analysis: { summary: 'The caller asked about opening hours.', tags: [] } },
    },
  ];
}
