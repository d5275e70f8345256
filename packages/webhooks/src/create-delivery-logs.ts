import { randomBytes } from 'node:crypto';
import {
  CallTrackError,
  InvalidArgumentError,
  NotFoundError,
  RateLimitedError,
  userAudience,
} from '@calltrack/core';
import { computeEndpointStats } from './compute-endpoint-stats';
import type { Permits } from './create-permits';
import type { WebhookSender } from './create-webhook-sender';
import { eventDeliveryJob } from './event-delivery-job';
import { isKept } from './is-kept';
import { checkTenantId, loadEndpoint } from './load-endpoint';
import {
  decodePageCursor,
  deliveryListKey,
  encodePageCursor,
  type PageCursor,
} from './page-cursor';
import { recoveryDeliveryJob } from './recovery-delivery-job';
import { sendAttempt } from './send-attempt';
import type { WebhookClock } from './webhook-clock';
import type { DeliveryJob, WebhookAttempt, WebhookMessage } from './webhook-delivery';
import type { FailedDeliveriesPage, WebhookDispatcher } from './webhook-dispatcher';
import type { StoredEndpoint } from './webhook-endpoint';
import type { ListQuery, WebhookStore } from './webhook-store';

/** What the log, stats and recovery methods need from the dispatcher. */
export interface DeliveryLogsContext {
  store: WebhookStore;
  /** Sends test deliveries. */
  sender: WebhookSender;
  /** The process's cap on requests in flight; a test send takes one as a delivery does. */
  sendPermits: Permits;
  /** How long a concurrency slot is held at most (real time): the request timeout and a margin. */
  slotLeaseMs: number;
  clock: WebhookClock;
  /** How long messages, deliveries and log rows are kept (and the longest stats window). */
  retentionMs: number;
  /** Most log rows kept per endpoint (and read for stats). */
  maxAttemptsPerEndpoint: number;
  /** A tenant's test sends per minute, over all its endpoints (a minute's worth at once). */
  testSendsPerMinute: number;
}

/** The dispatcher's log, stats and recovery methods. */
export type DeliveryLogs = Pick<
  WebhookDispatcher,
  'listAttempts' | 'getStats' | 'listFailedDeliveries' | 'resend' | 'recover' | 'sendTest'
>;

const day = 24 * 3_600_000;
/** How far back `recover` reaches at least; with a longer `retentionMs`, as far as that. */
const minRecoverWindowMs = 14 * day;
/** A list page's way on, from the last row it read (its time and key). */
const nextPageAfter = (before: number, beforeKey: string) => ({
  nextCursor: encodePageCursor(before, beforeKey),
});
/** The way on of a list's last page. */
const noNextPage = { nextCursor: null } as const;

/**
 * Most log rows one list request reads: a status filter that matches little reads this many and
 * answers a short page with a cursor, so a request never reads (or moves) a whole log.
 */
const maxRowsReadPerList = 1000;
/** Rows per store read when a status filter may skip most of them. */
const filteredPageRows = 200;
/** Rows per store read of a stats window. */
const statsPageRows = 1000;
/**
 * Test-send rows an endpoint's log keeps (the newest): what a tenant's test sends can add to the
 * store is bounded by its endpoints, not by how long it keeps sending (decision 0068).
 */
const maxTestAttemptsPerEndpoint = 100;

const limitOf = (limit: number | undefined, max: number, fallback: number): number => {
  if (limit === undefined) return fallback;
  if (!Number.isInteger(limit) || limit < 1 || limit > max) {
    throw new InvalidArgumentError({ message: `"limit" must be an integer from 1 to ${max}.` });
  }
  return limit;
};

/** The store cursor of a `before` (time only) or `cursor` (time and key) query. */
const cursorOf = (query: {
  before?: number;
  cursor?: string;
}): Pick<ListQuery, 'before' | 'beforeKey'> => {
  if (query.cursor === undefined) {
    return query.before === undefined ? {} : { before: query.before };
  }
  if (query.before !== undefined) {
    throw new InvalidArgumentError({ message: 'Give "cursor" or "before", not both.' });
  }
  return decodePageCursor(query.cursor);
};

const requireEnabled = (endpoint: StoredEndpoint): void => {
  if (!endpoint.enabled) {
    throw new CallTrackError({
      message: 'The endpoint is disabled: enable it first (PUT with { "enabled": true }).',
      code: 'endpoint_disabled',
      status: 409,
    });
  }
};

/** A test send refused for a limit: 429, with when to try again. */
const testRefused = (reason: string, waitMs: number): RateLimitedError => {
  const retryAfterSeconds = Math.max(1, Math.ceil(waitMs / 1000));
  return new RateLimitedError({
    message: `${reason}: send the test again in ${retryAfterSeconds} s.`,
    retryAfterSeconds,
  });
};

/** A resend's job: a fresh id each time (every resend asked for is one more send). */
const resendJob = (tenantId: string, endpointId: string, messageId: string): DeliveryJob => ({
  id: `${endpointId}_${messageId}_resend_${randomBytes(6).toString('base64url')}`,
  tenantId,
  endpointId,
  messageId,
  trigger: 'resend',
});

/**
 * Creates the methods over what deliveries left behind: an endpoint's delivery log and stats, the
 * dead-letter list, resend and recover from it, and test sends (logged like any attempt).
 */
export function createDeliveryLogs(context: DeliveryLogsContext): DeliveryLogs {
  const { store, sender, clock, retentionMs, maxAttemptsPerEndpoint } = context;
  const load = (tenantId: string, endpointId: string) => loadEndpoint(store, tenantId, endpointId);

  const listAttempts: DeliveryLogs['listAttempts'] = async (tenantId, endpointId, query = {}) => {
    await load(tenantId, endpointId);
    const limit = limitOf(query.limit, 1000, 50);
    const attempts: WebhookAttempt[] = [];
    let cursor = cursorOf(query);
    // A status filter may skip rows: read pages until the page is full, the log ends, or
    // maxRowsReadPerList rows were read.
    const pageRows = query.status === undefined ? limit : Math.max(limit, filteredPageRows);
    for (let read = 0; read < maxRowsReadPerList; ) {
      const rows = Math.min(pageRows, maxRowsReadPerList - read);
      const page = await store.listAttempts(tenantId, endpointId, {
        limit: rows,
        ...cursor,
        ...(query.since === undefined ? {} : { since: query.since }),
      });
      read += page.length;
      for (const attempt of page) {
        if (query.status !== undefined && attempt.status !== query.status) continue;
        attempts.push(attempt);
        // A full page goes on right after its last row, wherever in the read it fell: the rows
        // read past it are the next page's (even when the read reached the log's end).
        if (attempts.length === limit) {
          return { attempts, ...nextPageAfter(attempt.startedAt, attempt.id) };
        }
      }
      if (page.length < rows) return { attempts, ...noNextPage };
      const last = page[page.length - 1]!;
      cursor = { before: last.startedAt, beforeKey: last.id };
    }
    // The reading stopped without filling this page (a status filter that matches little): a
    // short page, and the next goes on from where the reading stopped, not an end of the log.
    const { before, beforeKey } = cursor as PageCursor;
    return { attempts, ...nextPageAfter(before, beforeKey) };
  };

  const getStats: DeliveryLogs['getStats'] = async (tenantId, endpointId, statsOptions = {}) => {
    await load(tenantId, endpointId);
    // A day by default, or the whole log when it is kept for less (a short retry schedule).
    const windowMs = statsOptions.windowMs ?? Math.min(day, retentionMs);
    if (!Number.isInteger(windowMs) || windowMs < 1000 || windowMs > retentionMs) {
      throw new InvalidArgumentError({
        message: `The stats window must be from 1 second to the retention (${retentionMs} ms).`,
      });
    }
    const now = clock.now();
    // Read in pages of 1,000 rows: one store read of the whole window would be one script and
    // one reply of up to maxAttemptsPerEndpoint rows.
    const attempts: WebhookAttempt[] = [];
    let cursor: Pick<ListQuery, 'before' | 'beforeKey'> = {};
    while (attempts.length < maxAttemptsPerEndpoint) {
      const rows = Math.min(statsPageRows, maxAttemptsPerEndpoint - attempts.length);
      const page = await store.listAttempts(tenantId, endpointId, {
        since: now - windowMs,
        limit: rows,
        ...cursor,
      });
      attempts.push(...page);
      if (page.length < rows) break;
      const last = page[page.length - 1]!;
      cursor = { before: last.startedAt, beforeKey: last.id };
    }
    return computeEndpointStats(attempts, windowMs, now);
  };

  const listFailedDeliveries: DeliveryLogs['listFailedDeliveries'] = async (
    tenantId,
    query = {},
  ) => {
    checkTenantId(tenantId);
    if (query.endpointId !== undefined) await load(tenantId, query.endpointId);
    const limit = limitOf(query.limit, 1000, 50);
    const deliveries = await store.listFailedDeliveries(tenantId, {
      limit,
      messagesSince: clock.now() - retentionMs,
      ...(query.endpointId === undefined ? {} : { endpointId: query.endpointId }),
      ...(query.since === undefined ? {} : { since: query.since }),
      ...cursorOf(query),
    });
    const last = deliveries[limit - 1];
    const page: FailedDeliveriesPage = {
      deliveries,
      ...(last === undefined ? noNextPage : nextPageAfter(last.updatedAt, deliveryListKey(last))),
    };
    return page;
  };

  const resend: DeliveryLogs['resend'] = async (tenantId, endpointId, messageId) => {
    const endpoint = await load(tenantId, endpointId);
    requireEnabled(endpoint);
    const stored =
      typeof messageId === 'string' && /^msg_[A-Za-z0-9_-]{1,64}$/.test(messageId)
        ? await store.getMessage(tenantId, messageId)
        : undefined;
    // Kept `retentionMs` on the dispatcher's clock (a store's own expiry is a safety net).
    const message = stored && isKept(stored, clock.now(), retentionMs) ? stored : undefined;
    if (!message) throw new NotFoundError({ message: 'No such message (it may have expired).' });
    const delivery = await store.getDelivery(tenantId, endpointId, messageId);
    if (!delivery) {
      // A message for one user goes only where fan-out would have sent it (decision 0061): to
      // anyone else it is not there, as another tenant's is not.
      if (isForOneUser(message) && !endpoint.events.includes(message.eventType)) {
        throw new NotFoundError({ message: 'No such message (it may have expired).' });
      }
      // The endpoint never had it: deliver it like any event, retries included. Created leased,
      // in the same write: if queueing its job fails, the lease runs out and a delivering process
      // queues it, so it is never left pending with no job (the caller's retry queues that job).
      await store.createDeliveries(message, [endpointId], retentionMs, {
        count: 1,
        ms: context.slotLeaseMs,
      });
    }
    // The resend job marks the delivery: the next attempt to start serves it, logged as the
    // resend's, whichever job makes it, and the others send nothing for it; one attempt of a
    // delivery is in flight at a time, so a resend asked during one waits for it (and is answered
    // by it when it succeeds). A pending delivery's own job goes with it (skipped when queued or
    // running; it ends a lease such as the one above): a delivery whose job was never queued then
    // has its retries after a failed resend.
    const resend = resendJob(tenantId, endpointId, messageId);
    await store.enqueue(
      !delivery || delivery.status === 'pending'
        ? [resend, eventDeliveryJob(tenantId, endpointId, messageId)]
        : [resend],
    );
  };

  const recover: DeliveryLogs['recover'] = async (tenantId, endpointId, window) => {
    const endpoint = await load(tenantId, endpointId);
    requireEnabled(endpoint);
    const now = clock.now();
    const since = window?.since;
    const until = window?.until ?? now + 1;
    // Every dead letter listed (kept for `retentionMs`) can be recovered.
    const recoverWindowMs = Math.max(minRecoverWindowMs, retentionMs);
    if (typeof since !== 'number' || !Number.isFinite(since) || since < now - recoverWindowMs) {
      const days = recoverWindowMs / day;
      throw new InvalidArgumentError({
        message: `"since" must be a time within the last ${Number.isInteger(days) ? days : days.toFixed(1)} days.`,
      });
    }
    if (!Number.isFinite(until) || until <= since) {
      throw new InvalidArgumentError({ message: '"until" must be later than "since".' });
    }
    let cursor: ListQuery = { before: until, limit: 500 };
    let queued = 0;
    for (;;) {
      const page = await store.listFailedDeliveries(tenantId, {
        ...cursor,
        endpointId,
        since,
        messagesSince: now - retentionMs,
      });
      if (page.length > 0) {
        // One job id per dead letter: what an earlier call queued is not queued twice. Queued
        // first, then claimed: a call that fails between the two is made again and claims them,
        // and one claim per dead letter counts it once among calls at once.
        await store.enqueue(
          page.map((delivery) =>
            recoveryDeliveryJob(tenantId, endpointId, delivery.messageId, delivery.attempts),
          ),
        );
        queued += store.claimRecoveries
          ? (
              await store.claimRecoveries(
                tenantId,
                endpointId,
                page.map(({ messageId, attempts }) => ({ messageId, attempts })),
              )
            ).length
          : page.length;
      }
      if (page.length < 500) return { queued };
      // The next page goes on from the last delivery's time and key: more than a page may have
      // failed in one millisecond (an endpoint disabled gives up its backlog at once).
      const last = page[page.length - 1]!;
      cursor = { before: last.updatedAt, beforeKey: deliveryListKey(last), limit: 500 };
    }
  };

  const sendTest: DeliveryLogs['sendTest'] = async (tenantId, endpointId) => {
    const endpoint = await load(tenantId, endpointId);
    const now = clock.now();
    const at = new Date(now).toISOString();
    const message: WebhookMessage = {
      id: `msg_test_${randomBytes(15).toString('base64url')}`,
      tenantId,
      eventId: 'test',
      eventType: 'webhook.test',
      body: JSON.stringify({
        type: 'webhook.test',
        timestamp: at,
        data: { endpointId: endpoint.id, message: 'A test delivery from calltrack.' },
      }),
      createdAt: now,
    };
    // First the tenant's own budget of test sends, over all its endpoints: an endpoint's limits
    // are the tenant's to set, and each test send adds a log row (decision 0068). Refused first,
    // so a client that keeps asking costs one store call per request.
    const { testSendsPerMinute } = context;
    const tenantWait = await store.takeRateToken(
      `test:${tenantId}`,
      testSendsPerMinute / 60,
      now,
      testSendsPerMinute,
    );
    if (tenantWait > 0) {
      throw testRefused(
        `This tenant's test sends (${testSendsPerMinute} per minute) are spent`,
        tenantWait,
      );
    }
    // Sent now or not at all, within the limits deliveries keep: the process's cap, then the
    // endpoint's concurrency slot and rate limit. None free is a 429 saying when to try again.
    if (!context.sendPermits.tryAcquire()) {
      throw testRefused('This process has as many requests in flight as it may', 1000);
    }
    let attempt: WebhookAttempt;
    const holder = `test_${message.id}`;
    try {
      const slotWait = await store.acquireSlot(
        tenantId,
        endpoint.id,
        holder,
        endpoint.maxConcurrency,
        context.slotLeaseMs,
      );
      if (slotWait > 0) {
        throw testRefused(
          `The endpoint has its ${endpoint.maxConcurrency} concurrent deliveries in flight`,
          slotWait,
        );
      }
      if (endpoint.rateLimitPerSecond !== null) {
        let rateWait: number;
        try {
          rateWait = await store.takeRateToken(endpoint.id, endpoint.rateLimitPerSecond, now);
        } catch (error) {
          await store.releaseSlot(tenantId, endpoint.id, holder);
          throw error;
        }
        if (rateWait > 0) {
          await store.releaseSlot(tenantId, endpoint.id, holder);
          throw testRefused(
            `The endpoint's rate limit (${endpoint.rateLimitPerSecond} per second) is spent`,
            rateWait,
          );
        }
      }
      ({ attempt } = await sendAttempt(sender, clock, endpoint, message, 'test', 1));
    } finally {
      context.sendPermits.release();
    }
    // The slot is released in the same step as the record.
    await store.recordAttempt({
      attempt,
      releaseSlot: holder,
      retentionMs,
      maxAttemptsPerEndpoint,
      maxTestAttemptsPerEndpoint,
      now: clock.now(),
    });
    return attempt;
  };

  return { listAttempts, getStats, listFailedDeliveries, resend, recover, sendTest };
}

/**
 * Whether a stored message carries a user-addressed event (core's `isUserAddressedEvent`), read
 * from its body. A body cut to size may have left `audience` out: it then names it in `omitted`.
 */
function isForOneUser(message: WebhookMessage): boolean {
  let payload: unknown;
  try {
    payload = JSON.parse(message.body);
  } catch {
    return true; // Unreadable: not sent where it might not belong.
  }
  const event = (payload as { data?: { data?: { audience?: unknown }; omitted?: unknown } }).data;
  return (
    event?.data?.audience === userAudience ||
    (Array.isArray(event?.omitted) && event.omitted.includes('data.audience'))
  );
}
