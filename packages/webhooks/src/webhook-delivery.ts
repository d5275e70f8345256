/** What started an attempt. */
export type AttemptTrigger =
  /** The event came from the bus (first attempt and scheduled retries). */
  | 'event'
  /** A resend of one message. */
  | 'resend'
  /** A recovery of the endpoint's failed deliveries. */
  | 'recover'
  /** A test send. */
  | 'test';

/** One event to deliver: the exact body, kept so every attempt and replay sends the same bytes. */
export interface WebhookMessage {
  /** The `webhook-id`. */
  id: string;
  tenantId: string;
  /** The bus event's id. */
  eventId: string;
  eventType: string;
  /** The JSON body, as sent. */
  body: string;
  createdAt: number;
}

/** Where one message stands with one endpoint. */
export interface WebhookDelivery {
  tenantId: string;
  endpointId: string;
  messageId: string;
  eventType: string;
  /** `pending` while attempts remain; `failed` once exhausted (the dead-letter list). */
  status: 'pending' | 'succeeded' | 'failed';
  /** Attempts made so far (test sends excluded). */
  attempts: number;
  createdAt: number;
  updatedAt: number;
  /** When the next scheduled attempt is due (ms), while pending. */
  nextAttemptAt?: number;
  lastError?: string;
  /** The last HTTP status, 0 when there was no response. */
  lastStatusCode?: number;
}

/** One row of the delivery log: one HTTP attempt. */
export interface WebhookAttempt {
  /** `att_` and 24 characters. */
  id: string;
  tenantId: string;
  endpointId: string;
  messageId: string;
  eventType: string;
  url: string;
  /** The attempt's number for its delivery, from 1 (test sends count from 1 on their own). */
  attempt: number;
  trigger: AttemptTrigger;
  status: 'succeeded' | 'failed';
  /** The HTTP status; 0 when no response came (timeout, refused, blocked). */
  statusCode: number;
  durationMs: number;
  /** The start of the response body, truncated. */
  responseBody: string;
  /** Why it failed, in a sentence. */
  error?: string;
  /** When the attempt started (ms). */
  startedAt: number;
  /** When the next attempt is scheduled (ms); absent when none is. */
  nextAttemptAt?: number;
}

/** A job on the delivery queue: deliver one message to one endpoint. */
export interface DeliveryJob {
  /** Unique per delivery for `event` jobs (enqueueing twice is a no-op); fresh for manual ones. */
  id: string;
  tenantId: string;
  endpointId: string;
  messageId: string;
  trigger: Exclude<AttemptTrigger, 'test'>;
}

/** What a worker tells the queue after handling a job. */
export type DeliveryJobOutcome =
  /** Finished: remove the job. */
  | { type: 'done' }
  /** Run it again at `at` (clock milliseconds): the next scheduled attempt. */
  | { type: 'retry'; at: number }
  /** Not now (endpoint at its concurrency or rate limit): run it again after `ms` of real time. */
  | { type: 'defer'; ms: number };
