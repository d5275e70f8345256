export { createSseHandler } from './create-sse-handler';
export { createSseNodeHandler } from './create-sse-node-handler';
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
