import type { BusEventMessage, EventBus } from '@calltrack/bus';
import type { Principal } from '@calltrack/core';
import { SseChannel } from './sse-channel';

/** The key of the all-tenants channel: never a tenant id (those are never empty). */
const allTenantsKey = '';

/**
 * The channels of one handler: one per tenant with streams on this handler, and one for every
 * all-tenants stream. A channel is made by the first stream that needs it and closed when the
 * last one leaves.
 */
export class SseChannels {
  private readonly channels = new Map<string, SseChannel>();

  constructor(
    private readonly bus: Pick<EventBus, 'subscribe'>,
    private readonly onSkipped: (error: unknown, message: BusEventMessage) => void,
    private readonly onError: (error: unknown) => void,
  ) {}

  /** The channel of `principal`'s streams, held once for the caller (`release()` it). */
  hold(principal: Principal): SseChannel {
    const allTenants = principal.allTenants === true;
    const key = allTenants ? allTenantsKey : principal.tenantId;
    let channel = this.channels.get(key);
    if (channel === undefined) {
      channel = new SseChannel(
        {
          bus: this.bus,
          onSkipped: this.onSkipped,
          onError: this.onError,
          onEnd: (ended) => {
            if (this.channels.get(ended.key) === ended) this.channels.delete(ended.key);
          },
        },
        key,
        allTenants ? { allTenants: true } : { tenantId: principal.tenantId },
      );
      this.channels.set(key, channel);
    }
    channel.hold();
    return channel;
  }
}
