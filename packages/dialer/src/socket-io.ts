export type { AttachDialerOptions, DialerSocketHandle } from './attach-dialer';
export { attachDialer } from './attach-dialer';
export type {
  CallStartedPayload,
  CallStatusPayload,
  DialerClientEvents,
  DialerServerEvents,
  LeadsFetchedAck,
} from './dialer-socket-protocol';
