import type { BusSubscription } from '@calltrack/bus';
import { type CallEvent, InvalidArgumentError } from '@calltrack/core';
import type { DialerBus, DialerUserFollow, DialerUserUpdate } from './dialer';
import type { LeadAttempt } from './lead-attempt';
import type { LeadStore } from './lead-store';

const dialerTypes: Record<string, DialerUserUpdate['type']> = {
  'dialer.run_started': 'run_started',
  'dialer.lead_skipped': 'lead_skipped',
  'dialer.call_placed': 'call_placed',
  'dialer.run_finished': 'run_finished',
};

interface FollowUserOptions {
  bus: DialerBus;
  store: LeadStore;
  referenceOf: (event: CallEvent) => string | undefined;
  tenantId: string;
  userId: string;
  signal?: AbortSignal;
}

/**
 * One user's dialer updates from the bus: the dialer's own events addressed to the user, and the
 * tracker's `call.*` events of calls the dialer placed for the user (linked by call id, else by
 * reference, through the store once per call). Works on any process: everything comes from the
 * bus and the store. Subscribes at once (not on the first `next()`), so `ready` says when events
 * published from then on are sure to be seen.
 */
export function followUserUpdates(options: FollowUserOptions): DialerUserFollow {
  const { bus, tenantId, userId } = options;
  if (!bus.subscribe) {
    throw new InvalidArgumentError({ message: 'followUser needs a bus with subscribe().' });
  }
  if (typeof userId !== 'string' || userId === '') {
    throw new InvalidArgumentError({ message: 'followUser needs a userId.' });
  }
  const subscription = bus.subscribe({
    tenantId,
    types: ['dialer.*', 'call.*'],
    ...(options.signal === undefined ? {} : { signal: options.signal }),
  });
  const updates = userUpdates(options, subscription);
  return {
    ready: subscription.ready,
    [Symbol.asyncIterator]: () => updates,
  };
}

async function* userUpdates(
  options: FollowUserOptions,
  subscription: BusSubscription,
): AsyncGenerator<DialerUserUpdate> {
  const { store, tenantId, userId } = options;
  // Calls known to be (or not to be) this user's: by `provider/callId` and by reference.
  const known = new Map<string, LeadAttempt | null>();
  const remember = (key: string, attempt: LeadAttempt | null): void => {
    if (known.size > 10_000) known.delete(known.keys().next().value as string);
    known.set(key, attempt);
  };
  const attemptOf = async (event: CallEvent): Promise<LeadAttempt | null> => {
    const callKey = event.callId === undefined ? undefined : `${event.provider}/${event.callId}`;
    const reference = options.referenceOf(event);
    const referenceKey = reference === undefined ? undefined : `ref/${reference}`;
    for (const key of [callKey, referenceKey]) {
      const cached = key === undefined ? undefined : known.get(key);
      if (cached !== undefined) return cached;
    }
    let attempt: LeadAttempt | undefined;
    if (event.callId !== undefined) {
      attempt = await store.findAttemptByCall(tenantId, event.provider, event.callId);
    }
    if (attempt === undefined && reference !== undefined) {
      attempt = await store.getAttempt(tenantId, reference);
    }
    const found = attempt ?? null;
    if (callKey !== undefined) remember(callKey, found);
    if (referenceKey !== undefined) remember(referenceKey, found);
    return found;
  };

  // Per attempt, the lifecycle in order: placed, statuses, completed. A call's webhooks may
  // outrun the dialer's own `dialer.call_placed` (published once the provider answered): the
  // first call event then announces the call, and the late `dialer.call_placed` is dropped.
  const announced = new Set<string>();
  const completed = new Set<string>();
  const mark = (set: Set<string>, attemptId: string): void => {
    if (set.size > 10_000) set.delete(set.values().next().value as string);
    set.add(attemptId);
  };

  try {
    for await (const message of subscription) {
      if (message.type !== 'event') continue;
      const { event } = message;
      const dialerType = dialerTypes[event.type];
      if (dialerType !== undefined) {
        if (event.userId !== userId) continue;
        const data = event.data as { leadId?: string; attemptId?: string };
        if (dialerType === 'call_placed' && data.attemptId !== undefined) {
          const attempt = await store.getAttempt(tenantId, data.attemptId);
          if (attempt) {
            remember(`ref/${attempt.attemptId}`, attempt);
            if (event.callId !== undefined) remember(`${event.provider}/${event.callId}`, attempt);
          }
        }
        if (dialerType === 'call_placed' && data.attemptId !== undefined) {
          if (announced.has(data.attemptId)) continue;
          mark(announced, data.attemptId);
        }
        yield {
          type: dialerType,
          event,
          ...(data.leadId === undefined ? {} : { leadId: data.leadId }),
          ...(data.attemptId === undefined ? {} : { attemptId: data.attemptId }),
        };
        continue;
      }
      if (!event.type.startsWith('call.')) continue;
      const attempt = await attemptOf(event);
      if (attempt === null || attempt.userId !== userId) continue;
      if (completed.has(attempt.attemptId)) continue;
      if (!announced.has(attempt.attemptId)) {
        mark(announced, attempt.attemptId);
        yield {
          type: 'call_placed',
          event,
          leadId: attempt.leadId,
          attemptId: attempt.attemptId,
        };
      }
      if (event.type === 'call.ended') mark(completed, attempt.attemptId);
      yield {
        type: event.type === 'call.ended' ? 'call_completed' : 'call_status',
        event,
        leadId: attempt.leadId,
        attemptId: attempt.attemptId,
      };
    }
  } finally {
    await subscription.close();
  }
}
