export { createSseHandler } from './create-sse-handler';
export { createSseNodeHandler } from './create-sse-node-handler';
export { callEventName } from './encode-call-event-frame';
export type { SseFrame } from './encode-sse-frame';
export { encodeSseFrame, isSafeSseField } from './encode-sse-frame';
export type { ParseSseQueryOptions } from './parse-sse-query';
export { parseSseQuery } from './parse-sse-query';
export type {
  SseCloseInfo,
  SseCloseReason,
  SseErrorInfo,
  SseHandlerOptions,
  SseSkippedEvent,
  SseSnapshotSource,
  SseStreamInfo,
} from './sse-handler-options';
export type { SseQuery } from './sse-query';
export { sseResponseHeaders } from './sse-response-headers';
