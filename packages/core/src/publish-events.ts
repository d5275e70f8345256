import type { CallEvent } from './call-event-schema';
import { CallTrackError } from './errors/calltrack-error';
import type { EventSink } from './event-sink';

/** What {@link publishEvents} did. */
export interface PublishEventsResult {
  /** Events the sink accepted as new. */
  published: number;
  /** Events the sink had already seen (a retried webhook). */
  duplicates: number;
}

/**
 * Publishes a webhook's events into a sink in order, for provider handlers. Any failure of the
 * sink becomes a 5xx `CallTrackError` (a 5xx CallTrackError such as `BusUnavailableError` is
 * kept; anything else becomes 500 `publish_failed`), so the handler answers 5xx and the provider
 * retries; the events' deterministic ids make the retry safe.
 */
export async function publishEvents(
  sink: EventSink,
  events: readonly CallEvent[],
): Promise<PublishEventsResult> {
  let duplicates = 0;
  for (const event of events) {
    try {
      const result = await sink.publish(event);
      if (result?.duplicate === true) duplicates += 1;
    } catch (error) {
      if (CallTrackError.isInstance(error) && error.status >= 500) throw error;
      throw new CallTrackError({
        message: 'The event could not be published.',
        code: 'publish_failed',
        status: 500,
        cause: error,
      });
    }
  }
  return { published: events.length - duplicates, duplicates };
}
