import type { WebhookClock } from './webhook-clock';
import type {
  DeliveryJob,
  DeliveryJobOutcome,
  WebhookAttempt,
  WebhookDelivery,
  WebhookMessage,
} from './webhook-delivery';
import type { EndpointDisabledReason, StoredEndpoint } from './webhook-endpoint';

/** The endpoint settings `saveEndpointSettings` writes (never the state attempts change). */
export type EndpointSettings = Pick<
  StoredEndpoint,
  | 'tenantId'
  | 'id'
  | 'url'
  | 'description'
  | 'events'
  | 'headers'
  | 'rateLimitPerSecond'
  | 'maxConcurrency'
  | 'secrets'
  | 'updatedAt'
>;

/** What `recordAttempt` writes, in one atomic step. */
export interface RecordAttemptInput {
  /** The log row. */
  attempt: WebhookAttempt;
  /** The delivery's new state; absent for test sends. */
  delivery?: Pick<
    WebhookDelivery,
    'status' | 'attempts' | 'nextAttemptAt' | 'lastError' | 'lastStatusCode' | 'updatedAt'
  >;
  /**
   * The endpoint's health; absent for test sends. A success clears the failure clock; a failure
   * starts it (if not running) and counts. The endpoint is disabled (once: only the call that
   * flips it reports `disabled`) when `disable` is set, or when the clock has run for
   * `failureWindowMs` with at least `minFailures` failures in a row.
   */
  health?: {
    succeeded: boolean;
    disable?: EndpointDisabledReason;
    /** Undefined: never disable for failing. */
    failureWindowMs?: number;
    minFailures: number;
    /** Recorded as the reason shown with the disabled endpoint. */
    message: string;
  };
  /**
   * The holder (job id) whose concurrency slot on the attempt's endpoint, and whose hold on the
   * attempt's delivery (see `beginAttempt`), are freed in the same step.
   */
  releaseSlot?: string;
  /**
   * The resend this attempt served (`AttemptStart.resend`): the delivery's mark is cleared unless
   * another resend was asked meanwhile. A success (`delivery.status` `succeeded`) clears any mark:
   * a resend asked while the attempt was in flight is answered by its success.
   */
  servedResend?: string;
  /** Log rows older than this many milliseconds are dropped (and deliveries, messages expire). */
  retentionMs: number;
  /** Most log rows kept per endpoint. */
  maxAttemptsPerEndpoint: number;
  /**
   * With a test send's row: most test-send rows kept per endpoint, the oldest dropped first
   * (within `maxAttemptsPerEndpoint`), so test sends never push deliveries out of the log.
   */
  maxTestAttemptsPerEndpoint?: number;
  now: number;
}

/** What `recordAttempt` reports. */
export interface RecordAttemptResult {
  /** Set when this attempt disabled the endpoint. */
  disabled?: { reason: EndpointDisabledReason; message: string; failingSince?: number };
}

/** What `beginAttempt` found for a job, and whether it took the endpoint's concurrency slot. */
export interface AttemptStart {
  delivery: WebhookDelivery | undefined;
  endpoint: StoredEndpoint | undefined;
  message: WebhookMessage | undefined;
  /**
   * The job's concurrency slot on its endpoint, and its hold on the delivery: 0 when taken,
   * else about how many milliseconds until they may free up (another job's attempt of the same
   * delivery is in flight, or the endpoint is at its cap). Absent when the job cannot send now,
   * so nothing was asked for: the endpoint or message is missing, the endpoint is disabled, (for
   * an `event` job) the delivery is not pending, or neither due at `now` nor asked to be resent,
   * or (for a `resend` job) no resend is waiting: another attempt served it.
   *
   * The job is deferred for the wait. The built-in stores run a job of their queue that was
   * answered a wait again as soon as what it waits for is released (`recordAttempt`,
   * `releaseSlot`) in the same process; a release in another process is seen when the wait is
   * over, which is why it is at most about a second.
   */
  slotWait?: number;
  /**
   * The resend waiting on the delivery (the id of the last `resend` job queued for it), when
   * there is one: the attempt this job makes serves it (`RecordAttemptInput.servedResend`).
   */
  resend?: string;
}

/** What `createDeliveries` reports, by endpoint id. */
export interface CreatedDeliveries {
  /** Pending deliveries the caller enqueues (not leased). */
  pending: string[];
  /** Deliveries this call created and leased to the caller for a direct first attempt. */
  leased: string[];
}

/**
 * Paging and filtering of a list, newest first: by time, and items of the same time by key,
 * highest first (compared as `<` compares strings; the ids are ASCII, so this is also the byte
 * order Redis sorts members in). An attempt's key is its `id`; a delivery's is
 * `endpointId:messageId`.
 */
export interface ListQuery {
  /** Only items at or after this time (ms). */
  since?: number;
  /** Only items strictly before this time (ms), or at it and before `beforeKey`. */
  before?: number;
  /**
   * With `before`: the items at exactly `before` whose key is lower are listed too. The next
   * page passes the last item's time and key, so items sharing a millisecond (more than a page
   * of them) are never skipped nor listed twice.
   */
  beforeKey?: string;
  /** Most items (newest first). */
  limit: number;
}

/** Runs one job; the queue acts on its outcome. */
export type DeliveryJobHandler = (job: DeliveryJob) => Promise<DeliveryJobOutcome>;

/** Options of `startWorker`. */
export interface DeliveryWorkerOptions {
  /** Most jobs this process runs at once. */
  concurrency: number;
  /** The clock `retry` times are on. */
  clock: WebhookClock;
}

/**
 * Everything the dispatcher keeps: endpoints, messages, deliveries, the attempt log, the delivery
 * queue, per-endpoint limits and bus cursors. Every backend passes the conformance suite in
 * `@calltrack/webhooks/testing`. Tenants are isolated by construction: every read is by tenant.
 */
export interface WebhookStore {
  /** Saves a new endpoint unless the tenant already has `maxPerTenant` (then `EndpointQuotaExceededError`). */
  createEndpoint(endpoint: StoredEndpoint, maxPerTenant: number): Promise<void>;
  getEndpoint(tenantId: string, endpointId: string): Promise<StoredEndpoint | undefined>;
  /** The tenant's endpoints, oldest first. */
  listEndpoints(tenantId: string): Promise<StoredEndpoint[]>;
  /**
   * Writes an endpoint's settings; false when it does not exist. Given `expected` (the settings
   * as the writer read them), only when they are still those (`updatedAt` aside), else false:
   * the writer reads again and retries, so concurrent changes (a rotation, an update) are not
   * written over.
   */
  saveEndpointSettings(settings: EndpointSettings, expected?: EndpointSettings): Promise<boolean>;
  /** Enables (clearing the disabled state and the failure clock) or disables; false when missing. */
  setEndpointEnabled(
    tenantId: string,
    endpointId: string,
    enabled: boolean,
    now: number,
  ): Promise<boolean>;
  /**
   * Deletes an endpoint with its deliveries, log and dead letters (the messages stay for the
   * other endpoints); false when it did not exist.
   */
  deleteEndpoint(tenantId: string, endpointId: string): Promise<boolean>;
  /** Every tenant that has at least one endpoint. */
  listTenants(): Promise<string[]>;

  /**
   * Saves the message (first write wins) and a pending delivery to each endpoint that has none.
   *
   * With `lease`, up to `lease.count` of the deliveries this call *created* are leased to the
   * caller for a first attempt it sends itself, without the queue: each lease lasts `lease.ms` of
   * real time (the request timeout and a margin), and `recordAttempt` ends it when the attempt
   * finishes the delivery, `enqueue` when the delivery's job is queued. A store that survives a
   * crash must turn a lease that ran out into a queued job (the same id) in a process that
   * delivers; a store that does not lease returns `leased: []` and everything is queued.
   *
   * `pending` lists the other deliveries still pending (new, or left pending by a crash), which
   * the caller enqueues; finished deliveries and those under a lease are in neither list.
   */
  createDeliveries(
    message: WebhookMessage,
    endpointIds: readonly string[],
    retentionMs: number,
    lease?: { count: number; ms: number },
  ): Promise<CreatedDeliveries>;
  getMessage(tenantId: string, messageId: string): Promise<WebhookMessage | undefined>;
  getDelivery(
    tenantId: string,
    endpointId: string,
    messageId: string,
  ): Promise<WebhookDelivery | undefined>;
  /**
   * Reads the delivery, the endpoint and the message of a job and, when the job can send now,
   * takes a concurrency slot for it (`acquireSlot` with the endpoint's `maxConcurrency`), in one
   * step: a worker's whole preparation for an attempt is one round trip.
   *
   * One attempt of a delivery at a time: the slot is taken only when no other holder's attempt
   * of the same delivery is in flight, and with it a hold on the delivery (for `leaseMs` of real
   * time at most, like the slot), which `recordAttempt` ends (`releaseSlot`), or `releaseSlot`
   * given the message id.
   *
   * A delivery whose endpoint is gone is deleted in the same step (with its lease, resend mark
   * and hold): `deleteEndpoint` deleted the endpoint's deliveries, but another process's fan-out
   * may create one after it from an endpoint list it read before (see `endpointCacheMs`).
   *
   * A `recover` job on a disabled endpoint sends nothing and leaves the dead letter as it was: a
   * store with `claimRecoveries` ends the claim made at the job's attempts (its id ends in
   * `_recover_<attempts>`) in the same step, so that a `recover` once the endpoint is enabled
   * again counts the recovery it queues, and marks the recovery at those attempts dropped, so
   * that a claim still to come (the endpoint was disabled between `recover`'s `enqueue` and its
   * `claimRecoveries`) is not made.
   */
  beginAttempt(job: DeliveryJob, options: { now: number; leaseMs: number }): Promise<AttemptStart>;
  /**
   * Writes the log row, the delivery and the endpoint's health in one atomic step. When the
   * delivery is finished (`succeeded` or `failed`), its lease, if any, ends in the same step.
   *
   * A delivery lives no longer than its message (`retentionMs` after the message was created, on
   * the clock of `now`; an attempt does not extend it): when the message is gone, the delivery is deleted instead of
   * written, so no dead letter is left that nothing could resend. An attempt of an endpoint that
   * was deleted meanwhile is dropped: no log row, no delivery (its slot and hold are freed).
   */
  recordAttempt(input: RecordAttemptInput): Promise<RecordAttemptResult>;
  /** The endpoint's log, newest first. */
  listAttempts(tenantId: string, endpointId: string, query: ListQuery): Promise<WebhookAttempt[]>;
  /**
   * Exhausted deliveries (the dead-letter list), most recently failed first; by `updatedAt`. Only
   * those whose message is still kept, and was created at or after `messagesSince` when given
   * (a page is filled past the others, not cut short).
   */
  listFailedDeliveries(
    tenantId: string,
    query: ListQuery & {
      endpointId?: string;
      /**
       * The dispatcher's `now - retentionMs`: a dead letter lives no longer than its message,
       * and how long that is kept is decided on the dispatcher's clock, not on the store's (a
       * store's own expiry is a safety net).
       */
      messagesSince?: number;
    },
  ): Promise<WebhookDelivery[]>;

  /**
   * Adds jobs to the durable queue, due now; a job whose id is queued or running already is
   * skipped, and once a job is done its id may be queued again (`recover` relies on both: one id
   * per delivery's recovery). The lease of an `event` job's delivery (see `createDeliveries`)
   * ends once its job is queued.
   *
   * A `resend` job first marks its delivery (when there is one) as asked to be resent, with the
   * job's id: whichever job's attempt starts next serves the resend (`AttemptStart.resend`), and
   * a `resend` job that finds no mark sends nothing. A `beginAttempt` that finds the endpoint
   * disabled deletes the mark: the attempt that would have served it is dropped, and so is the
   * resend (a later recovery is not logged as it).
   */
  enqueue(jobs: readonly DeliveryJob[]): Promise<void>;
  /**
   * Optional: claims the recovery of each of an endpoint's dead letters, as `recover` listed
   * them (a message id and the delivery's `attempts` then), after queueing their jobs: a
   * delivery that is there (whatever it became since: its recovery may have run already) and
   * has no recovery claimed at those `attempts` or more is claimed at them, in one atomic step
   * each, so of calls at once (a retried one, two operators) each dead letter is claimed by
   * one. A recovery at those `attempts` or more dropped on the disabled endpoint
   * (`beginAttempt`) since its job was last given to `enqueue` is not claimed: nothing will send
   * it, and the next `recover`, which queues it again, claims it. Returns the message ids
   * claimed, which `recover` counts as queued. Without it,
   * `recover` counts every dead letter it listed, also one whose recovery was queued already.
   */
  claimRecoveries?(
    tenantId: string,
    endpointId: string,
    deliveries: readonly { messageId: string; attempts: number }[],
  ): Promise<string[]>;
  /**
   * Starts running queued jobs in this process (and, in a store that leases, turning leases that
   * ran out into queued jobs).
   */
  startWorker(handler: DeliveryJobHandler, options: DeliveryWorkerOptions): void;
  /** Stops taking jobs and waits for the running ones. */
  stopWorker(): Promise<void>;
  /**
   * Takes one of an endpoint's `limit` concurrency slots for `holder` (a job id) for at most
   * `leaseMs` of real time (a crashed worker's slot frees itself). 0 when taken, else about how
   * many milliseconds until one may free up.
   */
  acquireSlot(
    tenantId: string,
    endpointId: string,
    holder: string,
    limit: number,
    leaseMs: number,
  ): Promise<number>;
  /** Frees `holder`'s slot and, given the message id, its hold on that delivery. */
  releaseSlot(
    tenantId: string,
    endpointId: string,
    holder: string,
    messageId?: string,
  ): Promise<void>;
  /**
   * Takes one send from a rate limit (`perSecond`, GCRA): an endpoint's (`key` = its id), or a
   * tenant's test sends (`key` = `test:<tenantId>`). Up to `burst` sends may go at once (default
   * one second's worth, at least one); a store that ignores `burst` limits more strictly, never
   * less. 0 when allowed now, else the milliseconds (on `now`'s clock) until it would be.
   */
  takeRateToken(key: string, perSecond: number, now: number, burst?: number): Promise<number>;

  /** Saves the last bus cursor handled per tenant. */
  saveCursors(cursors: Readonly<Record<string, string>>): Promise<void>;
  /** Every tenant's saved cursor (read when the dispatcher starts following the bus). */
  loadCursors(): Promise<Record<string, string>>;
  /**
   * Optional: one tenant's saved cursor, undefined when it has none (creating an endpoint asks
   * whether its tenant has one). Without it, the dispatcher reads every cursor with `loadCursors`.
   */
  loadCursor?(tenantId: string): Promise<string | undefined>;

  /** Stops the worker and releases what the store opened (never a client it was given). */
  close(): Promise<void>;
}
