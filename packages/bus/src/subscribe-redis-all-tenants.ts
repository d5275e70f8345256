import { tenantIdSchema } from '@calltrack/core';
import { toError } from '@calltrack/core/internal';
import type { AllTenantsListener, TenantRegistryListener } from './create-redis-channel-hub';
import {
  createRedisTenantSubscriber,
  type RedisTenantSubscriber,
  type RedisTenantSubscriberStart,
} from './create-redis-tenant-subscriber';
import { createSubscriptionQueue, type SubscriptionQueue } from './create-subscription-queue';
import type { BusSubscribeOptions, BusSubscription } from './event-bus';
import { matchesSubscription } from './matches-subscription';
import type { RedisBusClient } from './redis-bus-client';
import { redisBusKeys, redisBusTenantRegistry } from './redis-bus-keys';
import type { RedisSubscribeContext } from './subscribe-redis-tenant';

/**
 * A subscription to every tenant. With classic pub/sub it is one pattern subscription: every
 * live message of every tenant. Each tenant is followed from its first live message on with the
 * same per-tenant state machine as a tenant subscription, so a message it cannot read or a gap
 * is filled from that tenant's history; after an interruption it gets a `reconnected` reset
 * (tenants it had not heard from may have published) and follows each tenant afresh.
 *
 * Sharded pub/sub has no patterns, so there it follows each tenant's stream like a tenant
 * subscription does: the tenants come from a registry (a set, plus a channel announcing new
 * ones) that publishers fill on a tenant's first publish, and again about once per history age.
 * Tenants known when it starts are followed from now; a tenant announced later from the start of
 * its stream, so its first events are replayed from history; a tenant announced again after the
 * registry had lost it, from the position the announcement names, after a `history-gap` reset. After an interruption each tenant catches up from history;
 * resets name the tenant (`tenantId`).
 */
export function subscribeRedisAllTenants(
  context: RedisSubscribeContext & { redis: RedisBusClient; prefix: string },
  options: BusSubscribeOptions,
): BusSubscription {
  let detach = (): void => {};
  const queue = createSubscriptionQueue({
    maxBuffered: context.maxBufferedMessages,
    signal: options.signal,
    onEnd: () => {
      context.active.delete(queue);
      detach();
    },
  });
  if (!queue.open) return queue.subscription;
  context.active.add(queue);
  const matches = matchesSubscription(options);
  const fail = (error: unknown): void => {
    context.report(toError(error));
    queue.cutOff();
  };
  context.hub.mode().then((mode) => {
    if (!queue.open) return;
    detach =
      mode === 'sharded'
        ? followRegistry(context, queue, matches, fail)
        : followPattern(context, queue, matches, fail);
  }, fail);
  return queue.subscription;
}

/**
 * How long a tenant of a classic all-tenants subscription is followed after its last message.
 * Then it is dropped (once it reads no history), so a long-running process holds state for the
 * tenants active lately, not for every tenant ever heard from; its next message joins it again.
 */
const memberIdleMs = 5 * 60 * 1000;

/** A tenant a classic all-tenants subscription follows. */
interface PatternMember {
  subscriber: RedisTenantSubscriber;
  /** When its last live message came (the context's clock). */
  heardAt: number;
}

function followPattern(
  context: RedisSubscribeContext,
  queue: SubscriptionQueue,
  matches: ReturnType<typeof matchesSubscription>,
  fail: (error: unknown) => void,
): () => void {
  const { hub, report } = context;
  const now = context.now ?? Date.now;
  // The tenants heard from lately (since the start or the last interruption), each with its
  // position, so a live message that cannot be read, or a gap, is read from that tenant's history.
  let members = new Map<string, PatternMember>();
  let sweptAt = now();
  /**
   * Drops every member. Those that will not read again tell the read incident now, not at their
   * next retry (up to 250 ms later): a read that works meanwhile may then end it.
   */
  const dropMembers = (): void => {
    for (const { subscriber } of members.values()) context.readFailures.ended(subscriber);
    members = new Map();
  };

  /**
   * Drops members idle for `memberIdleMs` that read no history, at most once per that time (on a
   * message, so an idle subscription costs no timer). Lossless: classic pub/sub loses no message
   * without a reconnect, so a dropped tenant's next message is the next after its position, and
   * it starts from it like a tenant never heard from.
   */
  const sweep = (time: number): void => {
    if (time - sweptAt < memberIdleMs) return;
    sweptAt = time;
    for (const [tenantId, member] of members) {
      if (time - member.heardAt >= memberIdleMs && member.subscriber.settled) {
        members.delete(tenantId);
      }
    }
  };

  const join = (tenantId: string, heardAt: number): RedisTenantSubscriber => {
    // A member dropped (at an interruption, or idle) may still be reading history: it writes
    // nothing more.
    const current = (): boolean => queue.open && members.get(tenantId)?.subscriber === subscriber;
    const subscriber = createRedisTenantSubscriber({
      tenantId,
      sink: {
        get open() {
          return current();
        },
        push: (message, fromHistory) => current() && queue.push(message, fromHistory),
        cutOff: () => queue.cutOff(),
        markReady: () => {},
      },
      matches,
      readHistory: hub.historyOf(tenantId),
      batchSize: context.batchSize,
      report,
      readFailures: context.readFailures,
      labelResets: true,
    });
    members.set(tenantId, { subscriber, heardAt });
    return subscriber;
  };

  const listener: AllTenantsListener = {
    receive(tenantId, { messages, unreadable }) {
      const time = now();
      sweep(time);
      const known = members.get(tenantId);
      const [first] = messages;
      if (known) {
        known.heardAt = time;
        for (const message of messages) known.subscriber.receive(message);
        // What had no cursor may be events: the tenant's history has them if so.
        if (unreadable) known.subscriber.catchUp();
        return;
      }
      // A tenant not heard from yet: its first message says where to follow it from (history is
      // read from just before it, which also tells a stray write from a real event). One with
      // no cursor at all gives no position to read from.
      if (first === undefined || !tenantIdSchema.safeParse(tenantId).success) return;
      const joined = join(tenantId, time);
      // Received before the start, so the first history read knows they came before it.
      for (const message of messages) joined.receive(message);
      joined.start({ from: 'live', epoch: first.epoch, seq: first.seq });
    },
    reconnected() {
      // Messages of any tenant may have been missed, also of tenants not heard from yet: say so,
      // and follow each tenant again from its next message.
      dropMembers();
      queue.push({ type: 'reset', recovered: false, reason: 'reconnected' });
    },
  };
  hub.attachAllTenants(listener).then(() => queue.markReady(), fail);
  return () => {
    dropMembers();
    hub.detachAllTenants(listener);
  };
}

function followRegistry(
  context: RedisSubscribeContext & { redis: RedisBusClient; prefix: string },
  queue: SubscriptionQueue,
  matches: ReturnType<typeof matchesSubscription>,
  fail: (error: unknown) => void,
): () => void {
  const { hub, report, redis } = context;
  const now = context.now ?? Date.now;
  const registry = redisBusTenantRegistry(context.prefix);
  const members = new Map<string, RedisTenantSubscriber>();
  let initial: Set<string> | undefined;
  let ended = false;
  let sweptAt = now();
  const hasStream = async (tenantId: string): Promise<boolean> =>
    (await redis.exists(redisBusKeys(context.prefix, tenantId).meta)) === 1;

  /**
   * Takes a tenant whose meta key is gone (expired: no publish for `metaTtlMs`) out of the
   * registry, so later subscriptions do not follow it. Its next publish starts a new stream,
   * which registers and announces it again. Resolves true when it published meanwhile (its
   * meta comes before its registration, so it is seen here): then it is put back.
   */
  const prune = async (tenantId: string): Promise<boolean> => {
    await redis.srem(registry.key, tenantId);
    if (!(await hasStream(tenantId))) return false;
    await redis.sadd(registry.key, tenantId);
    return true;
  };

  /**
   * At most once per `memberIdleMs` (on a message or an announcement, so an idle subscription
   * costs no timer), drops the members whose tenant's meta key is gone and that read no
   * history, as classic mode drops idle ones: a long-running subscription holds state and a
   * channel for the tenants that still have a stream, not for every tenant ever registered.
   */
  const sweep = (): void => {
    const time = now();
    if (ended || time - sweptAt < memberIdleMs) return;
    sweptAt = time;
    const settled = [...members].filter(([, subscriber]) => subscriber.settled);
    Promise.all(
      settled.map(async ([tenantId, subscriber]) => {
        if (await hasStream(tenantId)) return;
        if (ended || members.get(tenantId) !== subscriber) return;
        members.delete(tenantId);
        hub.detachTenant(tenantId, subscriber);
        context.readFailures.ended(subscriber);
        // A new stream started since the check: follow it from its first event (at worst an
        // event of it the dropped member delivered comes again).
        if (await prune(tenantId)) follow(tenantId, { from: 'stream-start' });
      }),
    ).catch(report);
  };

  // Members share the subscription's queue; the subscription is ready once every tenant known
  // at the start is.
  const follow = (tenantId: string, start: RedisTenantSubscriberStart): void => {
    if (ended || members.has(tenantId) || !tenantIdSchema.safeParse(tenantId).success) return;
    const subscriber = createRedisTenantSubscriber({
      tenantId,
      sink: {
        get open() {
          return queue.open;
        },
        push: (message, fromHistory) => {
          sweep();
          return queue.push(message, fromHistory);
        },
        cutOff: () => queue.cutOff(),
        markReady: () => {
          if (initial?.delete(tenantId) && initial.size === 0) queue.markReady();
        },
      },
      matches,
      readHistory: hub.historyOf(tenantId),
      batchSize: context.batchSize,
      report,
      readFailures: context.readFailures,
      labelResets: true,
    });
    members.set(tenantId, subscriber);
    hub.attachTenant(tenantId, subscriber).then(() => subscriber.start(start), fail);
  };

  /**
   * Reads the registry; tenants not followed yet are new since the last look. Those whose meta
   * key is gone are not followed, and are pruned from it.
   */
  const scan = async (start: RedisTenantSubscriberStart): Promise<void> => {
    // Ended while the registry's channel was being attached: nothing to read it for.
    if (ended) return;
    const registered = await redis.smembers(registry.key);
    const alive = await Promise.all(
      registered.map(async (tenantId) => members.has(tenantId) || (await hasStream(tenantId))),
    );
    if (ended) return;
    const tenants = registered.filter((_, index) => alive[index]);
    const gone = registered.filter((_, index) => !alive[index]);
    const published = await Promise.all(gone.map(prune));
    if (ended) return;
    // A new stream meanwhile: its announcement may have come before this look.
    for (const [index, tenantId] of gone.entries()) {
      if (published[index]) follow(tenantId, { from: 'stream-start' });
    }
    if (start.from === 'now') {
      initial = new Set(tenants.filter((tenantId) => !members.has(tenantId)));
      if (initial.size === 0) queue.markReady();
    }
    for (const tenantId of tenants) follow(tenantId, start);
  };

  const listener: TenantRegistryListener = {
    tenantAppeared: (announcement) => {
      sweep();
      const [tenantId = '', cursor] = announcement.split(' ');
      if (cursor === undefined) {
        follow(tenantId, { from: 'stream-start' });
        return;
      }
      // Registered again after the registry lost it (registerRedisBusTenant): its stream is
      // older than this subscription, which cannot tell which of its events came after its own
      // start. Say so, and go on from where the tenant was when it was registered again.
      if (ended || members.has(tenantId) || !tenantIdSchema.safeParse(tenantId).success) return;
      queue.push({ type: 'reset', recovered: false, reason: 'history-gap', tenantId });
      follow(tenantId, { from: 'cursor', cursor });
    },
    reconnected: () => {
      scan({ from: 'stream-start' }).catch(report);
    },
  };
  // The announcements first, then the set: a tenant registered in between is in one or both.
  hub
    .attachRegistry(listener)
    .then(() => scan({ from: 'now' }))
    .catch(fail);
  return () => {
    ended = true;
    hub.detachRegistry(listener);
    for (const [tenantId, subscriber] of members) {
      hub.detachTenant(tenantId, subscriber);
      // Now, not at its next retry, as a tenant subscription does.
      context.readFailures.ended(subscriber);
    }
    members.clear();
  };
}
