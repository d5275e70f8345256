import type { EventBus } from '@calltrack/bus';
import type { CallEvent } from '@calltrack/core';
import type { EndpointStats } from './compute-endpoint-stats';
import type { ResolveHost } from './create-guarded-lookup';
import type { EndpointInput } from './parse-endpoint-input';
import type { WebhookClock } from './webhook-clock';
import type { WebhookAttempt, WebhookDelivery } from './webhook-delivery';
import type { WebhookEndpoint } from './webhook-endpoint';
import type { WebhookStore } from './webhook-store';

/** Options of `createWebhookDispatcher`. */
export interface WebhookDispatcherOptions {
  /** Where endpoints, deliveries, logs and the queue live: memory, Redis, or your own. */
  store: WebhookStore;
  /** The bus events come from (all tenants) and `webhook.endpoint_disabled` goes to. */
  bus: EventBus;
  /**
   * Time for schedules, rate limits, windows, retention and signatures, and the wait before
   * fan-out retries a batch the store refused. Default: the system clock.
   */
  clock?: WebhookClock;
  /** Delays before each retry, in ms. Default Svix's: 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h. */
  retrySchedule?: readonly number[];
  /** Jitter applied to each retry delay, either way, as a fraction. Default 0.2 (±20%). */
  retryJitter?: number;
  /**
   * Request timeout: a whole number of ms from 1 to 2,147,483,647 (what a timer waits). Default
   * 15,000 ms.
   */
  timeoutMs?: number;
  /**
   * Most deliveries this process sends at once (all endpoints). Default 50. The worker runs up to
   * twice as many jobs, so the writes after a request overlap the next requests; requests in
   * flight never exceed this.
   */
  concurrency?: number;
  /** An endpoint's `maxConcurrency` when it sets none. Default 10. */
  defaultEndpointConcurrency?: number;
  /** Most endpoints per tenant. Default 50. */
  maxEndpointsPerTenant?: number;
  /** Accept `http:` endpoint URLs. Default false (https only). */
  allowHttp?: boolean;
  /** Private or special ranges deliveries may reach (`10.1.0.0/16`, `127.0.0.1/32`). Default none. */
  allowedCidrs?: readonly string[];
  /** Largest body sent; larger events lose their biggest `data` fields. Default 20,000 bytes. */
  maxPayloadBytes?: number;
  /**
   * Most response bytes kept per log row (the rest is not read). Default 2,048: an excerpt, as
   * Svix keeps; every row of every endpoint holds up to this much for the retention.
   */
  maxResponseBodyBytes?: number;
  /** How long messages, deliveries and log rows are kept. Default 14 days. */
  retentionMs?: number;
  /** Most log rows kept per endpoint. Default 10,000. */
  maxAttemptsPerEndpoint?: number;
  /**
   * Test sends a tenant may make per minute, over all its endpoints, across every process
   * sharing the store (a minute's worth at once); more are refused with 429 and `Retry-After`.
   * Default 20.
   */
  testSendsPerMinute?: number;
  /**
   * Disable an endpoint whose every attempt has failed for `afterMs` (default 5 days), with at
   * least `minFailures` failures in a row (default 5); `false` never does. A 410 always disables.
   */
  autoDisable?: { afterMs?: number; minFailures?: number } | false;
  /** How long a rotated-out secret keeps signing, by default. Default 24 h (at most 7 days). */
  secretGracePeriodMs?: number;
  /** Event types endpoints may subscribe to besides core's `callEventTypes`. */
  eventTypes?: readonly string[];
  /**
   * How often bus cursors are saved: ms from 1 to 2,147,483,647 (what a timer waits). Default
   * 1,000 ms.
   */
  cursorFlushIntervalMs?: number;
  /**
   * How long the endpoint list per tenant is cached for fan-out. Default 1,000 ms. A change made
   * through this dispatcher counts at once; one made in another process counts for the events
   * this one fans out once its copy expires (at most this long after). `0` reads the list for
   * every event.
   */
  endpointCacheMs?: number;
  /** The `user-agent` of deliveries. Default `calltrack-webhooks/<version>`. */
  userAgent?: string;
  /** Resolves host names for deliveries (default `dns.lookup`); every answer passes the SSRF guard. */
  resolveHost?: ResolveHost;
  /**
   * Background failures (a store write, a bus gap, a publish). Default: `console.error`. While
   * Redis cannot be reached or refuses writes, fan-out (retried until it works) reports the
   * outage once, then one `Error` when it works again.
   */
  onError?: (error: Error) => void;
}

/** What `start` runs in this process. */
export interface WebhookDispatcherStartOptions {
  /** Follow the bus and fan events out. Default true. */
  subscribe?: boolean;
  /** Run the delivery worker. Default true. */
  deliver?: boolean;
}

/** A page of the delivery log. */
export interface AttemptsPage {
  attempts: WebhookAttempt[];
  /** Pass as `cursor` for the next page; null at the end. Opaque. */
  nextCursor: string | null;
}

/** A page of the dead-letter list. */
export interface FailedDeliveriesPage {
  deliveries: WebhookDelivery[];
  /** Pass as `cursor` for the next page; null at the end. Opaque. */
  nextCursor: string | null;
}

/**
 * The outbound webhook dispatcher: endpoints per tenant, fan-out of bus events to them, signed
 * deliveries with durable retries, logs, stats, dead letters and replay. Every method is scoped by
 * the tenant you pass; get it from your auth, never from the caller's input.
 */
export interface WebhookDispatcher {
  /** Starts following the bus and delivering; resolves once live events flow. */
  start(options?: WebhookDispatcherStartOptions): Promise<void>;
  /**
   * Stops following and delivering (running requests finish), saves cursors, closes connections.
   * While Redis is unreachable it does not wait for it: the queued jobs still running here run
   * again in any delivering process once their lock lapses, as after a crash.
   */
  close(): Promise<void>;
  /** Fans one event out to its tenant's matching endpoints (what the bus subscription calls). */
  dispatch(event: CallEvent): Promise<void>;

  /** Creates an endpoint; the secret is returned here and on rotation only. */
  createEndpoint(
    tenantId: string,
    input: EndpointInput,
  ): Promise<{ endpoint: WebhookEndpoint; secret: string }>;
  listEndpoints(tenantId: string): Promise<WebhookEndpoint[]>;
  /** `NotFoundError` (404) when the tenant has no such endpoint. */
  getEndpoint(tenantId: string, endpointId: string): Promise<WebhookEndpoint>;
  /** Changes the given settings; `enabled: true` re-enables a disabled endpoint. */
  updateEndpoint(
    tenantId: string,
    endpointId: string,
    input: EndpointInput,
  ): Promise<WebhookEndpoint>;
  deleteEndpoint(tenantId: string, endpointId: string): Promise<void>;
  /**
   * A new secret; the old ones keep signing for `gracePeriodMs` (default `secretGracePeriodMs`,
   * at most 7 days, at most 10 old secrets), so receivers can switch without losing a delivery.
   */
  rotateSecret(
    tenantId: string,
    endpointId: string,
    options?: { gracePeriodMs?: number },
  ): Promise<{ endpoint: WebhookEndpoint; secret: string }>;

  /**
   * The endpoint's delivery log, newest first. `cursor` (a page's `nextCursor`) goes on where
   * that page ended; `before` starts before a time (not with `cursor`).
   */
  listAttempts(
    tenantId: string,
    endpointId: string,
    query?: {
      limit?: number;
      cursor?: string;
      before?: number;
      since?: number;
      status?: 'succeeded' | 'failed';
    },
  ): Promise<AttemptsPage>;
  /**
   * Success rate, latency percentiles and the last error over a window (default 24 h, or the
   * retention when it is shorter).
   */
  getStats(
    tenantId: string,
    endpointId: string,
    options?: { windowMs?: number },
  ): Promise<EndpointStats>;
  /**
   * The dead-letter list: deliveries whose retries are exhausted, most recent first. `cursor` (a
   * page's `nextCursor`) goes on where that page ended; `before` starts before a time (not with
   * `cursor`).
   */
  listFailedDeliveries(
    tenantId: string,
    query?: {
      endpointId?: string;
      since?: number;
      cursor?: string;
      before?: number;
      limit?: number;
    },
  ): Promise<FailedDeliveriesPage>;
  /**
   * Sends one message to the endpoint again (queued; one attempt). A delivery still being retried
   * counts it as its next retry: if it fails, the schedule goes on from it (the retry that was
   * due is not sent as well); a delivery that had finished is not rescheduled.
   */
  resend(tenantId: string, endpointId: string, messageId: string): Promise<void>;
  /**
   * Queues every failed delivery of the endpoint that failed in `[since, until)` (at most 14 days
   * back, or `retentionMs` when that is longer: every dead letter listed can be recovered) for
   * one more attempt; returns how many.
   */
  recover(
    tenantId: string,
    endpointId: string,
    options: { since: number; until?: number },
  ): Promise<{ queued: number }>;
  /**
   * Sends a `webhook.test` message to the endpoint now and returns the logged attempt (the
   * endpoint's log keeps its newest 100). It spends the tenant's `testSendsPerMinute` and keeps
   * the limits deliveries keep (the process's `concurrency`, the endpoint's `maxConcurrency` and
   * `rateLimitPerSecond`): at one, it throws `RateLimitedError` (429, `retryAfterSeconds`)
   * instead of waiting.
   */
  sendTest(tenantId: string, endpointId: string): Promise<WebhookAttempt>;
}
