/**
 * What one stream subscribes to, parsed from the query string (see `parseSseQuery`). Every
 * filter narrows the stream; an empty list means "no filter".
 */
export interface SseQuery {
  /** Only events of these calls (`callId=` repeated). */
  callIds: string[];
  /** Only these event types; an entry ending in `.*` matches a prefix (`types=` / `type=`). */
  types: string[];
  /** Only events (and snapshot calls) of this branch. */
  branchId?: string;
  /** Resume after this bus cursor: the `Last-Event-ID` header, else `lastEventId=`. */
  lastEventId?: string;
}
