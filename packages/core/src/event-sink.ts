import type { CallEvent } from './call-event-schema';

/** What an {@link EventSink} reports about one published event. */
export interface EventSinkResult {
  /** True when the event had been published before (same `id`) and was dropped. */
  duplicate: boolean;
  /**
   * Whether the event went on (to the bus, or wherever the sink sends it), when the sink can
   * tell: the tracker takes some events that are not duplicates and publishes nothing for them
   * (a second `call.ended` of a call). Absent: every event that is not a duplicate went on.
   */
  published?: boolean;
}

/**
 * Anything events can be handed to: the bus, the tracker, a test collector. Provider webhook
 * handlers publish into a sink and know nothing else about what happens next.
 */
export interface EventSink {
  publish(event: CallEvent): Promise<EventSinkResult>;
}
