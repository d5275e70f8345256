import type { CallEvent } from './call-event-schema';
import { CallTrackError } from './errors/calltrack-error';
import type { EventSink } from './event-sink';
import { toUnavailableError } from './redis-unavailable';
import { sealCallEvent } from './seal-call-event';

/** What {@link publishEvents} did. */
export interface PublishEventsResult {
  /**
   * Events the sink published: those it says it published (`published: true`), or, from a sink
   * that does not say, those that were not duplicates. An event the sink took but published
   * nothing for (the tracker's second end of a call) is in neither count.
   */
  published: number;
  /** Events the sink had already seen and published (a retried webhook). */
  duplicates: number;
}

/**
 * Publishes a webhook's events into a sink in order, for provider handlers. Every event is sealed
 * first (`sealCallEvent`: validated and frozen, unless the provider's parser sealed it already),
 * so the tracker and the bus take it without validating it again, and an invalid event is a 400
 * before any event of the webhook is published. A `CallTrackError`
 * from the sink is kept: a 4xx one (an event the bus refuses, such as `InvalidEventError`) is
 * answered 4xx so the provider stops retrying what can never succeed; a 5xx one (such as
 * `BusUnavailableError`) is answered 5xx so it retries. An ioredis error saying Redis could not
 * be reached (a store's command) becomes 503 `redis_unavailable`; any other failure 500
 * `publish_failed`. The events' deterministic ids make the retry safe.
 */
export async function publishEvents(
  sink: EventSink,
  events: readonly CallEvent[],
): Promise<PublishEventsResult> {
  let published = 0;
  let duplicates = 0;
  const sealed = events.map(sealCallEvent);
  for (const event of sealed) {
    try {
      const result = await sink.publish(event);
      const duplicate = result?.duplicate === true;
      // One count per event: one seen before but published only now (its first publish failed)
      // is published.
      if (result?.published ?? !duplicate) published += 1;
      else if (duplicate) duplicates += 1;
    } catch (error) {
      const known = toUnavailableError(error);
      if (CallTrackError.isInstance(known)) throw known;
      throw new CallTrackError({
        message: 'The event could not be published.',
        code: 'publish_failed',
        status: 500,
        cause: error,
      });
    }
  }
  return { published, duplicates };
}
