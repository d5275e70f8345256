import type { EventBus } from '@calltrack/bus';
import type { Clock } from '@calltrack/core';
import type { Namespace } from 'socket.io';
import type { ReportError } from './call-track-socket-error-info';
import { type CallChannel, createCallChannel, type ScheduleRestart } from './create-call-channel';
import { createChannelOutage } from './create-channel-outage';

/** The channels of one `attachCallTrack`: one per tenant with a connection, one all-tenants. */
export interface ChannelRegistry {
  /**
   * The channel of a tenant (or, with undefined, the all-tenants channel), started with its
   * first connection. Each `acquire` is matched by one `release`.
   */
  acquire(tenantId: string | undefined): CallChannel;
  /** Ends the channel with its last connection. */
  release(channel: CallChannel): void;
  /** Ends every channel. */
  closeAll(): void;
}

interface Holder {
  channel: CallChannel;
  connections: number;
}

/** Options of {@link createChannelRegistry}. */
export interface ChannelRegistryOptions {
  bus: EventBus;
  namespace: Namespace;
  /** Must not throw. */
  onError: ReportError;
  /** How channel restarts wait (tests). Default: an unref'd `setTimeout`. */
  schedule?: ScheduleRestart;
  /** Clock of the outage report ("back after … s"). Default `Date.now`. */
  clock?: Clock;
}

/**
 * Reference-counts channels, so a process holds one bus subscription per tenant with at least one
 * connection (and one all-tenants subscription while an all-tenants principal is connected),
 * whatever the number of connections.
 */
export function createChannelRegistry(options: ChannelRegistryOptions): ChannelRegistry {
  const { clock, ...channelOptions } = options;
  // One outage for every channel, kept here: a channel goes with its last connection, and its
  // tenant's next channel (or another tenant's) is the same outage.
  const outage = createChannelOutage(options.onError, clock);
  const tenants = new Map<string, Holder>();
  let allTenants: Holder | undefined;

  const find = (tenantId: string | undefined): Holder | undefined =>
    tenantId === undefined ? allTenants : tenants.get(tenantId);

  return {
    acquire(tenantId) {
      let holder = find(tenantId);
      if (!holder) {
        holder = {
          channel: createCallChannel({ ...channelOptions, tenantId, outage }),
          connections: 0,
        };
        if (tenantId === undefined) allTenants = holder;
        else tenants.set(tenantId, holder);
      }
      holder.connections += 1;
      return holder.channel;
    },
    release(channel) {
      const holder = find(channel.tenantId);
      if (!holder || holder.channel !== channel) return;
      holder.connections -= 1;
      if (holder.connections > 0) return;
      if (channel.tenantId === undefined) allTenants = undefined;
      else tenants.delete(channel.tenantId);
      channel.close();
    },
    closeAll() {
      for (const holder of tenants.values()) holder.channel.close();
      tenants.clear();
      allTenants?.channel.close();
      allTenants = undefined;
    },
  };
}
