import { createSlotWaiters } from './create-slot-waiters';
import { EndpointQuotaExceededError } from './errors/endpoint-quota-exceeded-error';
import { deliveryListKey } from './page-cursor';
import { recoveredAttemptsOf } from './recovery-delivery-job';
import type {
  DeliveryJob,
  WebhookAttempt,
  WebhookDelivery,
  WebhookMessage,
} from './webhook-delivery';
import type { StoredEndpoint } from './webhook-endpoint';
import type {
  AttemptStart,
  CreatedDeliveries,
  DeliveryJobHandler,
  DeliveryWorkerOptions,
  EndpointSettings,
  ListQuery,
  RecordAttemptInput,
  RecordAttemptResult,
  WebhookStore,
} from './webhook-store';

interface QueuedJob {
  job: DeliveryJob;
  state: 'ready' | 'waiting' | 'running';
  cancel?: () => void;
}

// Template strings, not `parts.join`: these run several times per delivery.
const key = (a: string, b: string): string => `${a}\n${b}`;
const key3 = (a: string, b: string, c: string): string => `${a}\n${b}\n${c}`;

/** Whether `a` lists before `b` (newest first: later time, then higher key; see `ListQuery`). */
const listsBefore = (aTime: number, aKey: string, bTime: number, bKey: string): boolean =>
  aTime > bTime || (aTime === bTime && aKey > bKey);

/** Whether an item at `time` with `itemKey` comes after the query's cursor (`before`, `beforeKey`). */
const afterCursor = (query: ListQuery, time: number, itemKey: string): boolean =>
  query.before === undefined ||
  time < query.before ||
  (time === query.before && query.beforeKey !== undefined && itemKey < query.beforeKey);

/** A copy callers may change without touching the stored endpoint (cheaper than structuredClone). */
const copyEndpoint = (endpoint: StoredEndpoint): StoredEndpoint => ({
  ...endpoint,
  events: [...endpoint.events],
  headers: { ...endpoint.headers },
  secrets: endpoint.secrets.map((secret) => ({ ...secret })),
});

/**
 * A {@link WebhookStore} in this process's memory: for one process, tests and demos. Nothing
 * survives a restart; for durable retries across processes use the Redis store
 * (`@calltrack/webhooks/redis`).
 */
export function createMemoryWebhookStore(): WebhookStore {
  const endpoints = new Map<string, Map<string, StoredEndpoint>>();
  const messages = new Map<string, WebhookMessage>();
  const deliveries = new Map<string, WebhookDelivery>();
  // Oldest first, by `startedAt` then id (the order they list in, reversed); rows before `head`
  // are trimmed (dropped in bulk now and then, not one by one).
  const attempts = new Map<string, { rows: WebhookAttempt[]; head: number }>();
  const slots = new Map<string, Map<string, number>>();
  // Deliveries whose first attempt the creator sends itself (keys as in `deliveries`).
  const leased = new Set<string>();
  // The attempt in flight per delivery: its holder (a job id) and when its hold runs out (real
  // time, as a slot's), so a second job of the delivery waits instead of sending beside it.
  const holds = new Map<string, { holder: string; until: number }>();
  // Resends asked and not yet served, per delivery: the id of the last resend job queued.
  const resends = new Map<string, string>();
  // Recoveries per dead letter: the attempts a recovery was claimed at, and those of a recovery
  // job dropped on the disabled endpoint since one was last queued (a claim after it counts 0).
  const recovered = new Map<string, { claimed?: number; dropped?: number }>();
  const rates = new Map<string, number>();
  let cursors: Record<string, string> = {};
  let writesSinceSweep = 0;

  const jobs = new Map<string, QueuedJob>();
  // A FIFO: ids from `readyHead` on are ready (taken by index, compacted now and then).
  let ready: string[] = [];
  let readyHead = 0;
  let handler: DeliveryJobHandler | undefined;
  let workerOptions: DeliveryWorkerOptions | undefined;
  let active = 0;
  let idle: (() => void) | undefined;
  const realTimers = new Set<NodeJS.Timeout>();
  // Jobs answered a wait (a held delivery, a full endpoint): a release runs them at once. A hold
  // or slot whose holder never ends it (its attempt threw) runs out unseen: then the deferral,
  // at most 1 s, is the fallback.
  const waiters = createSlotWaiters();

  const tenantEndpoints = (tenantId: string): Map<string, StoredEndpoint> => {
    let map = endpoints.get(tenantId);
    if (!map) {
      map = new Map();
      endpoints.set(tenantId, map);
    }
    return map;
  };

  /**
   * Drops messages older than the retention, now and then, with their finished deliveries: a
   * dead letter goes with the message it would resend, however late its last attempt.
   */
  const sweep = (now: number, retentionMs: number): void => {
    writesSinceSweep += 1;
    if (writesSinceSweep < 1000) return;
    writesSinceSweep = 0;
    const cutoff = now - retentionMs;
    // Both maps hold entries in the order they were created, and nothing created at or after
    // the cutoff can be due: each walk ends there, so a sweep costs about what it drops, not
    // everything the retention keeps (millions in a long-running process).
    for (const [id, delivery] of deliveries) {
      if (delivery.createdAt >= cutoff) break;
      if (delivery.status !== 'pending') {
        deliveries.delete(id);
        resends.delete(id);
        recovered.delete(id);
      }
    }
    for (const [id, message] of messages) {
      if (message.createdAt >= cutoff) break;
      messages.delete(id);
    }
  };

  /** Ends `holder`'s hold on a delivery (not another holder's), waking the jobs waiting for it. */
  const releaseHold = (deliveryKey: string, holder: string): void => {
    if (holds.get(deliveryKey)?.holder !== holder) return;
    holds.delete(deliveryKey);
    waiters.release(deliveryKey, 'all');
  };

  /**
   * Frees `holder`'s slot on an endpoint, waking the job that waited longest for one (a slot
   * that ran out and was taken by another is not `holder`'s any more: nothing is freed).
   */
  const freeSlot = (slotKey: string, holder: string): void => {
    if (slots.get(slotKey)?.delete(holder)) waiters.release(slotKey, 'one', holder);
  };

  /** `acquireSlot` on a slot key (tenant and endpoint). */
  const takeSlot = (slotKey: string, holder: string, limit: number, leaseMs: number): number => {
    const now = Date.now();
    let held = slots.get(slotKey);
    if (!held) {
      held = new Map();
      slots.set(slotKey, held);
    }
    // Expired holders are swept only when the endpoint looks full: a scan of every holder on
    // every attempt (50 at the benchmark's cap, each an entry array) cost more than the attempt's
    // other bookkeeping. The answer is the same: with room, or holding a slot already, it is 0.
    if (held.has(holder) || held.size < limit) {
      held.set(holder, now + leaseMs);
      return 0;
    }
    let earliest = Number.POSITIVE_INFINITY;
    held.forEach((expiresAt, other) => {
      if (expiresAt <= now) held.delete(other);
      else earliest = Math.min(earliest, expiresAt);
    });
    if (held.size < limit) {
      held.set(holder, now + leaseMs);
      return 0;
    }
    return Math.max(1, Math.min(earliest - now, 1000));
  };

  // ---- the queue --------------------------------------------------------------------------

  const makeReady = (entry: QueuedJob): void => {
    if (jobs.get(entry.job.id) !== entry) return;
    entry.state = 'ready';
    entry.cancel = undefined;
    ready.push(entry.job.id);
    pump();
  };

  const settle = (entry: QueuedJob, outcome: Awaited<ReturnType<DeliveryJobHandler>>): void => {
    active -= 1;
    if (outcome.type !== 'defer') waiters.ended(entry.job.id);
    if (outcome.type === 'done') {
      jobs.delete(entry.job.id);
    } else if (outcome.type === 'retry') {
      entry.state = 'waiting';
      entry.cancel = workerOptions!.clock.setTimer(outcome.at, () => makeReady(entry));
    } else if (
      waiters.deferred(entry.job.id, () => {
        entry.cancel?.();
        makeReady(entry);
      })
    ) {
      entry.state = 'waiting';
      // At most what setTimeout holds: a longer wait (a rate of far less than one a day) would
      // run the job again every millisecond. Run again then, the job is answered the rest.
      const timer = setTimeout(
        () => {
          realTimers.delete(timer);
          waiters.ended(entry.job.id);
          makeReady(entry);
        },
        Math.min(outcome.ms, 2 ** 31 - 1),
      );
      timer.unref();
      realTimers.add(timer);
      entry.cancel = () => {
        clearTimeout(timer);
        realTimers.delete(timer);
      };
    } else {
      // What it waited for was released while it ran: it runs again now.
      makeReady(entry);
    }
    if (active === 0) idle?.();
    pump();
  };

  const pump = (): void => {
    if (!handler || !workerOptions) return;
    while (active < workerOptions.concurrency && readyHead < ready.length) {
      const id = ready[readyHead]!;
      readyHead += 1;
      if (readyHead === ready.length) {
        ready = [];
        readyHead = 0;
      } else if (readyHead >= 1024 && readyHead * 2 >= ready.length) {
        ready = ready.slice(readyHead);
        readyHead = 0;
      }
      const entry = jobs.get(id);
      if (entry?.state !== 'ready') continue;
      entry.state = 'running';
      active += 1;
      waiters.started(id);
      const run = handler;
      void Promise.resolve()
        .then(() => run({ ...entry.job }))
        .then(
          (outcome) => settle(entry, outcome),
          // The handler reports its own failures; a throw means the store itself failed.
          () => settle(entry, { type: 'defer', ms: 1000 }),
        );
    }
  };

  return {
    async createEndpoint(endpoint, maxPerTenant) {
      const map = tenantEndpoints(endpoint.tenantId);
      if (map.size >= maxPerTenant) {
        throw new EndpointQuotaExceededError({
          message: `A tenant may have at most ${maxPerTenant} webhook endpoints.`,
        });
      }
      map.set(endpoint.id, copyEndpoint(endpoint));
    },

    async getEndpoint(tenantId, endpointId) {
      const found = endpoints.get(tenantId)?.get(endpointId);
      return found && copyEndpoint(found);
    },

    async listEndpoints(tenantId) {
      return [...(endpoints.get(tenantId)?.values() ?? [])].map(copyEndpoint);
    },

    async saveEndpointSettings(settings: EndpointSettings, expected?: EndpointSettings) {
      const found = endpoints.get(settings.tenantId)?.get(settings.id);
      if (!found) return false;
      if (expected && comparableSettings(found) !== comparableSettings(expected)) return false;
      Object.assign(found, {
        ...settings,
        events: [...settings.events],
        headers: { ...settings.headers },
        secrets: settings.secrets.map((secret) => ({ ...secret })),
      });
      return true;
    },

    async setEndpointEnabled(tenantId, endpointId, enabled, now) {
      const found = endpoints.get(tenantId)?.get(endpointId);
      if (!found) return false;
      found.enabled = enabled;
      found.updatedAt = now;
      if (enabled) {
        found.disabledAt = undefined;
        found.disabledReason = undefined;
        found.disabledMessage = undefined;
        found.failingSince = undefined;
        found.consecutiveFailures = 0;
      } else if (found.disabledAt === undefined) {
        found.disabledAt = now;
        found.disabledReason = 'manual';
        found.disabledMessage = 'Disabled through the API.';
      }
      return true;
    },

    async deleteEndpoint(tenantId, endpointId) {
      const map = endpoints.get(tenantId);
      const deleted = map?.delete(endpointId) ?? false;
      if (map && map.size === 0) endpoints.delete(tenantId);
      attempts.delete(key(tenantId, endpointId));
      const prefix = key3(tenantId, endpointId, '');
      for (const deliveryKey of deliveries.keys()) {
        if (deliveryKey.startsWith(prefix)) deliveries.delete(deliveryKey);
      }
      for (const deliveryKey of leased) {
        if (deliveryKey.startsWith(prefix)) leased.delete(deliveryKey);
      }
      for (const deliveryKeys of [resends.keys(), holds.keys(), recovered.keys()]) {
        for (const deliveryKey of deliveryKeys) {
          if (deliveryKey.startsWith(prefix)) {
            resends.delete(deliveryKey);
            holds.delete(deliveryKey);
            recovered.delete(deliveryKey);
          }
        }
      }
      return deleted;
    },

    async listTenants() {
      return [...endpoints.keys()];
    },

    async createDeliveries(message, endpointIds, retentionMs, lease) {
      const messageKey = key(message.tenantId, message.id);
      if (!messages.has(messageKey)) messages.set(messageKey, { ...message });
      const created: CreatedDeliveries = { pending: [], leased: [] };
      for (const endpointId of endpointIds) {
        const deliveryKey = key3(message.tenantId, endpointId, message.id);
        const existing = deliveries.get(deliveryKey);
        if (!existing) {
          deliveries.set(deliveryKey, {
            tenantId: message.tenantId,
            endpointId,
            messageId: message.id,
            eventType: message.eventType,
            status: 'pending',
            attempts: 0,
            createdAt: message.createdAt,
            updatedAt: message.createdAt,
          });
          if (lease && created.leased.length < lease.count) {
            // No expiry needed: nothing here outlives the process that holds the lease.
            leased.add(deliveryKey);
            created.leased.push(endpointId);
            continue;
          }
        }
        if (!existing || (existing.status === 'pending' && !leased.has(deliveryKey)))
          created.pending.push(endpointId);
      }
      sweep(message.createdAt, retentionMs);
      return created;
    },

    async getMessage(tenantId, messageId) {
      const found = messages.get(key(tenantId, messageId));
      return found && { ...found };
    },

    async getDelivery(tenantId, endpointId, messageId) {
      const found = deliveries.get(key3(tenantId, endpointId, messageId));
      return found && { ...found };
    },

    async beginAttempt(job, { now, leaseMs }): Promise<AttemptStart> {
      const deliveryKey = key3(job.tenantId, job.endpointId, job.messageId);
      const delivery = deliveries.get(deliveryKey);
      const endpoint = endpoints.get(job.tenantId)?.get(job.endpointId);
      const message = messages.get(key(job.tenantId, job.messageId));
      const start: AttemptStart = {
        delivery: delivery && { ...delivery },
        endpoint: endpoint && copyEndpoint(endpoint),
        message: message && { ...message },
      };
      if (!endpoint && delivery) {
        // Made after its endpoint was deleted (a fan-out from a cached endpoint list): dropped
        // now, as the delete would have, not kept until its message expires.
        deliveries.delete(deliveryKey);
        leased.delete(deliveryKey);
        resends.delete(deliveryKey);
        holds.delete(deliveryKey);
        recovered.delete(deliveryKey);
        return start;
      }
      const resend = delivery && resends.get(deliveryKey);
      const due =
        job.trigger === 'event'
          ? delivery?.status === 'pending' &&
            (resend !== undefined ||
              delivery.nextAttemptAt === undefined ||
              delivery.nextAttemptAt <= now)
          : job.trigger !== 'resend' || resend !== undefined;
      if (endpoint?.enabled && message && due) {
        if (resend !== undefined) start.resend = resend;
        const hold = delivery && holds.get(deliveryKey);
        const realNow = Date.now();
        if (hold && hold.holder !== job.id && hold.until > realNow) {
          start.slotWait = Math.max(1, Math.min(hold.until - realNow, 1000));
          waiters.waiting(job.id, deliveryKey);
          return start;
        }
        const slotKey = key(job.tenantId, job.endpointId);
        start.slotWait = takeSlot(slotKey, job.id, endpoint.maxConcurrency, leaseMs);
        if (start.slotWait > 0) waiters.waiting(job.id, slotKey);
        else if (delivery) holds.set(deliveryKey, { holder: job.id, until: realNow + leaseMs });
      } else if (resend !== undefined && endpoint && !endpoint.enabled) {
        // The endpoint was disabled after the resend was asked: the attempt that would have
        // served it is dropped, and so is the resend (a later recovery is not logged as it).
        resends.delete(deliveryKey);
      }
      if (job.trigger === 'recover' && endpoint && !endpoint.enabled && delivery) {
        // A recovery dropped on a disabled endpoint leaves the dead letter as it was: its claim
        // goes, so that a recover once the endpoint is enabled again counts it; and it is marked
        // dropped, so that a claim still to come (the endpoint was disabled between `recover`'s
        // queueing and its claim) is not made: nothing will send it.
        const attempts = recoveredAttemptsOf(job);
        if (attempts !== undefined) {
          const { claimed } = recovered.get(deliveryKey) ?? {};
          recovered.set(deliveryKey, {
            ...(claimed === undefined || claimed === attempts ? {} : { claimed }),
            dropped: attempts,
          });
        }
      }
      return start;
    },

    async recordAttempt(input: RecordAttemptInput): Promise<RecordAttemptResult> {
      const { attempt } = input;
      const logKey = key(attempt.tenantId, attempt.endpointId);
      if (input.releaseSlot !== undefined) freeSlot(logKey, input.releaseSlot);
      const endpoint = endpoints.get(attempt.tenantId)?.get(attempt.endpointId);
      const deliveryKey = key3(attempt.tenantId, attempt.endpointId, attempt.messageId);
      // A delivery lives no longer than its message: one whose message is gone (expired) is not
      // kept, so no dead letter is left that nothing could resend.
      const message = messages.get(key(attempt.tenantId, attempt.messageId));
      const keepsDelivery =
        input.delivery !== undefined &&
        message !== undefined &&
        message.createdAt >= input.now - input.retentionMs;
      if (input.delivery && (!endpoint || !keepsDelivery)) {
        deliveries.delete(deliveryKey);
        leased.delete(deliveryKey);
        resends.delete(deliveryKey);
        recovered.delete(deliveryKey);
        if (input.releaseSlot !== undefined) releaseHold(deliveryKey, input.releaseSlot);
      }
      // The endpoint was deleted while the attempt was in flight: nothing of it is kept.
      if (!endpoint) return {};
      let log = attempts.get(logKey);
      if (!log) {
        log = { rows: [], head: 0 };
        attempts.set(logKey, log);
      }
      const { rows } = log;
      // A row is logged when its attempt ends, so one that started earlier than the last may
      // come after it: it goes in its place (a few rows back at most, as attempts overlap).
      let at = rows.length;
      while (
        at > log.head &&
        listsBefore(rows[at - 1]!.startedAt, rows[at - 1]!.id, attempt.startedAt, attempt.id)
      ) {
        at -= 1;
      }
      if (at === rows.length) rows.push({ ...attempt });
      else rows.splice(at, 0, { ...attempt });
      if (attempt.trigger === 'test' && input.maxTestAttemptsPerEndpoint !== undefined) {
        dropOldestTests(log, input.maxTestAttemptsPerEndpoint);
      }
      const cutoff = input.now - input.retentionMs;
      while (
        log.head < rows.length &&
        (rows[log.head]!.startedAt < cutoff ||
          rows.length - log.head > input.maxAttemptsPerEndpoint)
      ) {
        log.head += 1;
      }
      if (log.head >= 1024 && log.head * 2 >= rows.length) {
        rows.splice(0, log.head);
        log.head = 0;
      }

      if (keepsDelivery) {
        const change = input.delivery!;
        const current = deliveries.get(deliveryKey);
        const clears = (field: 'nextAttemptAt' | 'lastError' | 'lastStatusCode'): boolean =>
          current?.[field] !== undefined &&
          change[field] === undefined &&
          (field === 'nextAttemptAt' || field in change);
        if (
          current &&
          !clears('nextAttemptAt') &&
          !clears('lastError') &&
          !clears('lastStatusCode')
        ) {
          // Updated in place (a stored delivery is never handed out) when no field goes away:
          // no second object per attempt, and no `delete`, which would put it in V8's slow
          // dictionary mode.
          current.status = change.status;
          current.attempts = change.attempts;
          current.updatedAt = change.updatedAt;
          if (change.nextAttemptAt !== undefined) current.nextAttemptAt = change.nextAttemptAt;
          if (change.lastError !== undefined) current.lastError = change.lastError;
          if (change.lastStatusCode !== undefined) current.lastStatusCode = change.lastStatusCode;
        } else {
          // Rebuilt field by field, leaving out what the change clears.
          const base = current ?? {
            tenantId: attempt.tenantId,
            endpointId: attempt.endpointId,
            messageId: attempt.messageId,
            eventType: attempt.eventType,
            createdAt: input.now,
          };
          const next: WebhookDelivery = {
            tenantId: base.tenantId,
            endpointId: base.endpointId,
            messageId: base.messageId,
            eventType: base.eventType,
            status: change.status,
            attempts: change.attempts,
            createdAt: base.createdAt,
            updatedAt: change.updatedAt,
          };
          if (change.nextAttemptAt !== undefined) next.nextAttemptAt = change.nextAttemptAt;
          const lastError = 'lastError' in change ? change.lastError : current?.lastError;
          if (lastError !== undefined) next.lastError = lastError;
          const lastStatusCode =
            'lastStatusCode' in change ? change.lastStatusCode : current?.lastStatusCode;
          if (lastStatusCode !== undefined) next.lastStatusCode = lastStatusCode;
          deliveries.set(deliveryKey, next);
        }
        if (change.status !== 'pending') leased.delete(deliveryKey);
        // Only a delivery's attempts hold it (a test send has no delivery).
        if (input.releaseSlot !== undefined) releaseHold(deliveryKey, input.releaseSlot);
        const resend = resends.get(deliveryKey);
        if (
          resend !== undefined &&
          (change.status === 'succeeded' || resend === input.servedResend)
        ) {
          resends.delete(deliveryKey);
        }
      }

      const { health } = input;
      if (!endpoint || !health) return {};
      if (health.succeeded) {
        endpoint.failingSince = undefined;
        endpoint.consecutiveFailures = 0;
        return {};
      }
      endpoint.failingSince ??= input.now;
      endpoint.consecutiveFailures += 1;
      const failingLongEnough =
        health.failureWindowMs !== undefined &&
        input.now - endpoint.failingSince >= health.failureWindowMs &&
        endpoint.consecutiveFailures >= health.minFailures;
      const reason = health.disable ?? (failingLongEnough ? 'failing' : undefined);
      if (!reason || !endpoint.enabled) return {};
      endpoint.enabled = false;
      endpoint.disabledReason = reason;
      endpoint.disabledAt = input.now;
      endpoint.disabledMessage = health.message;
      endpoint.updatedAt = input.now;
      return { disabled: { reason, message: health.message, failingSince: endpoint.failingSince } };
    },

    async listAttempts(tenantId, endpointId, query: ListQuery) {
      const log = attempts.get(key(tenantId, endpointId));
      const result: WebhookAttempt[] = [];
      if (!log) return result;
      const { rows } = log;
      // The newest row after the cursor: a bisection, as rows are in list order (reversed).
      let low = log.head;
      let high = rows.length;
      while (low < high) {
        const middle = (low + high) >>> 1;
        if (afterCursor(query, rows[middle]!.startedAt, rows[middle]!.id)) low = middle + 1;
        else high = middle;
      }
      for (let index = low - 1; index >= log.head && result.length < query.limit; index -= 1) {
        const attempt = rows[index]!;
        if (query.since !== undefined && attempt.startedAt < query.since) break;
        result.push({ ...attempt });
      }
      return result;
    },

    async listFailedDeliveries(tenantId, query) {
      // Each delivery's list key is built once (the cursor check needs it too), not twice per
      // comparison of the sort.
      const failed: { delivery: WebhookDelivery; listKey: string }[] = [];
      for (const delivery of deliveries.values()) {
        if (
          delivery.tenantId !== tenantId ||
          delivery.status !== 'failed' ||
          (query.endpointId !== undefined && delivery.endpointId !== query.endpointId) ||
          (query.since !== undefined && delivery.updatedAt < query.since) ||
          // A dead letter lives no longer than the message it would resend.
          !isMessageKept(messages.get(key(tenantId, delivery.messageId)), query.messagesSince)
        ) {
          continue;
        }
        const listKey = deliveryListKey(delivery);
        if (afterCursor(query, delivery.updatedAt, listKey)) failed.push({ delivery, listKey });
      }
      failed.sort((a, b) =>
        listsBefore(a.delivery.updatedAt, a.listKey, b.delivery.updatedAt, b.listKey) ? -1 : 1,
      );
      return failed.slice(0, query.limit).map(({ delivery }) => ({ ...delivery }));
    },

    async enqueue(newJobs) {
      for (const job of newJobs) {
        const deliveryKey = key3(job.tenantId, job.endpointId, job.messageId);
        if (job.trigger === 'event') leased.delete(deliveryKey);
        else if (job.trigger === 'resend' && deliveries.has(deliveryKey))
          resends.set(deliveryKey, job.id);
        else if (job.trigger === 'recover') {
          // A recovery queued again: a claim of it counts (the job dropped before is not this one).
          const claimed = recovered.get(deliveryKey)?.claimed;
          if (claimed === undefined) recovered.delete(deliveryKey);
          else recovered.set(deliveryKey, { claimed });
        }
        if (jobs.has(job.id)) continue;
        jobs.set(job.id, { job: { ...job }, state: 'ready' });
        ready.push(job.id);
      }
      pump();
    },

    async claimRecoveries(tenantId, endpointId, list) {
      const claimed: string[] = [];
      for (const { messageId, attempts } of list) {
        const deliveryKey = key3(tenantId, endpointId, messageId);
        // Whatever it became since: the recovery just queued may have run already.
        if (!deliveries.has(deliveryKey)) continue;
        const recovery = recovered.get(deliveryKey);
        // Claimed already, or its recovery was dropped on the disabled endpoint before this claim
        // (nothing will send it: the next `recover`, once the endpoint is enabled, counts it).
        if ((recovery?.claimed ?? -1) >= attempts || (recovery?.dropped ?? -1) >= attempts) {
          continue;
        }
        recovered.set(deliveryKey, { ...recovery, claimed: attempts });
        claimed.push(messageId);
      }
      return claimed;
    },

    startWorker(jobHandler, options) {
      handler = jobHandler;
      workerOptions = options;
      pump();
    },

    async stopWorker() {
      handler = undefined;
      if (active > 0) {
        await new Promise<void>((resolve) => {
          idle = resolve;
        });
        idle = undefined;
      }
    },

    async acquireSlot(tenantId, endpointId, holder, limit, leaseMs) {
      const slotKey = key(tenantId, endpointId);
      const wait = takeSlot(slotKey, holder, limit, leaseMs);
      if (wait > 0) waiters.waiting(holder, slotKey);
      return wait;
    },

    async releaseSlot(tenantId, endpointId, holder, messageId) {
      freeSlot(key(tenantId, endpointId), holder);
      if (messageId !== undefined) releaseHold(key3(tenantId, endpointId, messageId), holder);
    },

    async takeRateToken(rateKey, perSecond, now, burst) {
      // GCRA: one send every `interval`, a burst of `burst` sends (default one second's worth).
      const interval = 1000 / perSecond;
      const burstMs =
        burst === undefined ? Math.max(1000, interval) : Math.max(1, burst) * interval;
      const tat = Math.max(rates.get(rateKey) ?? now, now);
      // The burst off the interval first: a huge interval would round the time itself away.
      const allowAt = tat - (burstMs - interval);
      if (allowAt > now) return Math.ceil(allowAt - now);
      rates.set(rateKey, tat + interval);
      return 0;
    },

    async saveCursors(next) {
      cursors = { ...cursors, ...next };
    },

    async loadCursors() {
      return { ...cursors };
    },

    async loadCursor(tenantId) {
      return Object.hasOwn(cursors, tenantId) ? cursors[tenantId] : undefined;
    },

    async close() {
      handler = undefined;
      for (const entry of jobs.values()) entry.cancel?.();
      for (const timer of realTimers) clearTimeout(timer);
      realTimers.clear();
      waiters.clear();
    },
  };
}

/** An endpoint's settings as one text, `updatedAt` aside (headers in name order). */
function comparableSettings(settings: EndpointSettings): string {
  return JSON.stringify([
    settings.url,
    settings.description,
    settings.events,
    Object.entries(settings.headers).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)),
    settings.rateLimitPerSecond,
    settings.maxConcurrency,
    settings.secrets.map(({ secret, expiresAt }) => [secret, expiresAt ?? null]),
  ]);
}

/**
 * Drops an endpoint log's oldest test-send rows over `max` (rows are oldest first from `head`).
 * A pass over the log per test send: test sends are rate limited, and the log is bounded.
 */
function dropOldestTests(log: { rows: WebhookAttempt[]; head: number }, max: number): void {
  let tests = 0;
  for (let index = log.head; index < log.rows.length; index += 1) {
    if (log.rows[index]!.trigger === 'test') tests += 1;
  }
  let index = log.head;
  while (tests > max && index < log.rows.length) {
    if (log.rows[index]!.trigger === 'test') {
      log.rows.splice(index, 1);
      tests -= 1;
    } else {
      index += 1;
    }
  }
}

/** Whether a message is there and was created at or after `since` (when given). */
function isMessageKept(message: WebhookMessage | undefined, since: number | undefined): boolean {
  return message !== undefined && (since === undefined || message.createdAt >= since);
}
