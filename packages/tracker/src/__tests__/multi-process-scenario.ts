import type { CallEvent, CallStatus } from '@calltrack/core';
import { callLifecycle } from '../make-call-event';

/** One call of the cross-process scenario and what it must end as. */
export interface ScenarioCall {
  tenantId: string;
  callId: string;
  events: CallEvent[];
  /** The statuses it may end with: one, or two when two sources race to end it. */
  endStatuses: CallStatus[];
  talkMs: number;
}

const endStatuses: CallStatus[] = ['completed', 'busy', 'no-answer', 'failed', 'canceled'];

/**
 * The calls both processes ingest: lifecycles over two tenants and two branches, every third
 * with a second `call.ended` from another source (a different id) racing the first.
 */
export function buildScenario(callsPerTenant: number): ScenarioCall[] {
  const calls: ScenarioCall[] = [];
  for (const tenantId of ['tenant-p', 'tenant-q']) {
    for (let index = 0; index < callsPerTenant; index += 1) {
      const callId = `CA-mp-${index}`;
      const talkMs = 1000 * (index + 1);
      const endStatus = endStatuses[index % endStatuses.length]!;
      const events = callLifecycle({
        tenantId,
        callId,
        talkMs,
        endStatus,
        branchId: index % 2 === 0 ? 'north' : 'south',
        agentId: `agent-${index % 3}`,
        startMs: index * 1000,
      });
      const possible = [endStatus];
      if (index % 3 === 0) {
        const end = events[3]!;
        events.push({ ...end, id: `retell:${callId}:ended`, provider: 'retell', status: 'failed' });
        if (!possible.includes('failed')) possible.push('failed');
      }
      calls.push({ tenantId, callId, events, endStatuses: possible, talkMs });
    }
  }
  return calls;
}

/** A small seeded PRNG (mulberry32), so each process shuffles differently but repeatably. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let value = state;
    value = Math.imul(value ^ (value >>> 15), value | 1);
    value ^= value + Math.imul(value ^ (value >>> 7), value | 61);
    return ((value ^ (value >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * What one process delivers: every event of every call, a third of them twice, all shuffled
 * together (so each call's lifecycle arrives reordered and interleaved with the others).
 */
export function deliveryOrder(calls: readonly ScenarioCall[], seed: number): CallEvent[] {
  const random = seededRandom(seed);
  const delivered: CallEvent[] = [];
  for (const call of calls) {
    for (const event of call.events) {
      delivered.push(event);
      if (random() < 0.33) delivered.push(event);
    }
  }
  for (let index = delivered.length - 1; index > 0; index -= 1) {
    const other = Math.floor(random() * (index + 1));
    [delivered[index], delivered[other]] = [delivered[other]!, delivered[index]!];
  }
  return delivered;
}
