import { randomBytes, randomUUID } from 'node:crypto';
import type { UserPresence } from '@calltrack/core';
import {
  CallTrackError,
  InvalidArgumentError,
  type Principal,
  UnknownTenantError,
} from '@calltrack/core';
import { isOutageError, isRedisClientClosedError } from '@calltrack/core/internal';
import {
  checkConnectionId,
  checkMessageId,
  checkState,
  checkTenantId,
  checkUserId,
  toBoundedJson,
} from './check-presence-input';
import { createConfirmationBatcher } from './create-confirmation-batcher';
import { createHeartbeatBatcher } from './create-heartbeat-batcher';
import { createMemoryPresenceStore } from './create-memory-presence-store';
import { createHeartbeatWheel } from './heartbeat-wheel';
import { createOutageLog } from './outage-log';
import type {
  ListMembersOptions,
  Presence,
  PresenceConnectInput,
  PresenceConnection,
  PresenceConnectOptions,
  PresenceCount,
  PresenceOptions,
  PresenceSweepReport,
  SendOptions,
  SendResult,
} from './presence';
import { PresenceConnectionHandle, type PresenceHandleEngine } from './presence-connection-handle';
import { createSafeLogger, defaultPresenceLogger } from './presence-logger';
import type { PresenceRecord } from './presence-record';
import type { PresenceApplyResult, PresenceOperation, PresenceStore } from './presence-store';
import type { PresenceTransition } from './presence-transition';
import type { MessageDelivery } from './queued-message';
import {
  type FirstActiveCallsPage,
  readActiveCallsByUser,
  readActiveCallsOfUser,
  readMoreActiveCalls,
} from './read-active-calls-by-user';
import { resolvePresenceSettings } from './resolve-presence-settings';
import { toMessageEvent } from './to-message-event';
import { toPresenceEvent } from './to-presence-event';
import { toUserPresence, unknownUserPresence } from './to-user-presence';
import { TooManyConnectionsError } from './too-many-connections-error';

/** Users settled per store sweep call; a sweep loops while the store reports more. */
const sweepBatch = 500;
/** Upper bound on sweep rounds per tenant and run, so one run always ends. */
const maxSweepRounds = 100;

/** Operations without the fields the engine fills in. */
type OperationInput = PresenceOperation extends infer Operation
  ? Operation extends PresenceOperation
    ? Omit<Operation, 'at' | 'settings'>
    : never
  : never;

/** Tenants read per page by `listMembersAcrossTenants` (their members counted at once). */
const tenantPageSize = 100;
/** Tenants with members whose members `listMembersAcrossTenants` reads at once. */
const tenantReadBatch = 16;

/**
 * Users whose calls a member list reads at once, when the tenant has too many to read in one
 * page and the reader does not page.
 */
const userCallReadBatch = 32;
/** `limit` of the member lists: default and maximum. */
const listLimit = { fallback: 1000, max: 10_000 };

function checkListLimit(limit: number | undefined): number {
  const checked = limit ?? listLimit.fallback;
  if (!Number.isInteger(checked) || checked < 1 || checked > listLimit.max) {
    throw new InvalidArgumentError({
      message: `limit must be an integer from 1 to ${listLimit.max}.`,
    });
  }
  return checked;
}

/**
 * Creates the presence engine. See `Presence` for what it does and `PresenceOptions` for what
 * it takes. With the default memory store it serves one process; give every process the same
 * `createRedisPresenceStore` (and a Redis bus) to share presence, and call `start()` on each.
 *
 * @example
 * const presence = createPresence({ bus, store: createRedisPresenceStore({ redis }), calls: tracker });
 * presence.start(); // heartbeats and the sweeper
 * // in your transport, once the client's subscription is attached:
 * const connection = await presence.connect(principal, { connectionId: socket.id });
 * socket.on('close', () => connection.disconnect());
 */
export function createPresence(options: PresenceOptions): Presence {
  if (
    options == null ||
    typeof options !== 'object' ||
    typeof options.bus?.publish !== 'function'
  ) {
    throw new InvalidArgumentError({
      message: 'createPresence needs { bus }: an event bus (anything with publish(event)).',
    });
  }
  const { bus, calls, isKnownTenant } = options;
  const settings = resolvePresenceSettings(options);
  const storeSettings = settings.store;
  const store: PresenceStore = options.store ?? createMemoryPresenceStore();
  const clock = options.clock;
  // Whole milliseconds: stores (and the Redis scripts) keep integer times.
  const now =
    clock === undefined ? (): number => Math.floor(Date.now()) : () => Math.floor(clock.now());
  const logger = createSafeLogger(options.logger ?? defaultPresenceLogger);
  const wheel = createHeartbeatWheel<PresenceConnectionHandle>({
    intervalMs: settings.heartbeatIntervalMs,
  });

  // Background work (confirmations, deliveries, heartbeats) that `stop()` waits for.
  const inFlight = new Set<Promise<unknown>>();
  const track = (promise: Promise<unknown>): void => {
    const tracked = promise
      .catch((error: unknown) => logger.error('Background work failed.', { error }))
      .finally(() => inFlight.delete(tracked));
    inFlight.add(tracked);
  };

  const checkTenant = async (tenantId: string): Promise<void> => {
    checkTenantId(tenantId);
    if (isKnownTenant && !(await isKnownTenant(tenantId))) {
      throw new UnknownTenantError({ message: `Unknown tenant ${JSON.stringify(tenantId)}.` });
    }
  };

  /** A 4xx from the bus will never pass: retrying it would block the outbox or the queue. */
  const isRefusal = (error: unknown): boolean =>
    CallTrackError.isInstance(error) && error.status >= 400 && error.status < 500;

  // Confirmations refused during an outage (one per tenant whose transitions a tick published)
  // and background deliveries of queued messages whose publish or acknowledgement failed are one
  // incident each, over once every tenant that failed has worked again: a sweep publishes the
  // transitions again when their lease runs out, and delivers the messages when their claim does.
  // That sweep may be another process's, and after Redis lost its data nothing is published
  // again: so each also ends once one works (for confirmations, also a sweep: Redis answers) and
  // none has failed for a lease and a sweep interval, by when some sweep has taken over every
  // transition and message whose run failed.
  const leaseRule = {
    perTenant: true,
    quietMs: storeSettings.publishLeaseMs + settings.sweepIntervalMs,
  };
  const confirmationFailures = createOutageLog(logger, now, 'Confirmations', leaseRule);
  const deliveryFailures = createOutageLog(logger, now, 'Deliveries', leaseRule);
  const confirmations = createConfirmationBatcher(store, (confirmation, tenantId) =>
    track(
      confirmation.then(
        () => confirmationFailures.worked(tenantId),
        (error: unknown) => {
          confirmationFailures.failed(
            'Confirming published transitions failed; a sweep publishes them again once their lease runs out.',
            { tenantId, error },
            tenantId,
          );
        },
      ),
    ),
  );

  const publishTransitions = async (
    tenantId: string,
    transitions: readonly PresenceTransition[],
  ): Promise<void> => {
    const done: string[] = [];
    for (const transition of transitions) {
      try {
        await bus.publish(toPresenceEvent(transition, settings.initialState));
        logger.debug('Published a presence transition.', {
          eventId: transition.eventId,
          type: transition.type,
        });
      } catch (error) {
        if (!isRefusal(error)) {
          logger.error(
            'Publishing a presence transition failed; a sweep publishes it once its lease runs out.',
            { eventId: transition.eventId, type: transition.type, error },
          );
          continue;
        }
        logger.error('The bus refused a presence transition; it is dropped.', {
          eventId: transition.eventId,
          error,
        });
      }
      done.push(transition.eventId);
    }
    // Confirmed in the background, with whatever else was published in the same tick.
    confirmations.add(tenantId, done);
  };

  /**
   * Publishes claimed messages in order and acknowledges them, claim after claim, until the
   * user's queue is empty. On a failed publish or acknowledgement it stops: the claim's lease
   * runs out and a sweep delivers again (the bus drops what was already published, by id).
   * Failures go to the deliveries' outage log, never to the caller. Returns how many were
   * published.
   */
  const deliver = async (
    tenantId: string,
    userId: string,
    first: MessageDelivery,
  ): Promise<number> => {
    let delivery: MessageDelivery | undefined = first;
    let published = 0;
    while (delivery && delivery.messages.length > 0) {
      let lastSequence = 0;
      for (const message of delivery.messages) {
        try {
          await bus.publish(toMessageEvent(tenantId, userId, message));
        } catch (error) {
          if (!isRefusal(error)) {
            deliveryFailures.failed(
              'Delivering a queued message failed; a sweep delivers it once the claim runs out.',
              { tenantId, userId, messageId: message.messageId, error },
              tenantId,
            );
            return published;
          }
          logger.error('The bus refused a queued message; it is dropped.', {
            tenantId,
            userId,
            messageId: message.messageId,
            error,
          });
        }
        lastSequence = message.sequence;
        published += 1;
      }
      try {
        const acknowledged: PresenceApplyResult = await run(
          { kind: 'ack', tenantId, userId, token: delivery.token, lastSequence },
          'inline',
        );
        delivery = acknowledged.delivery;
      } catch (error) {
        deliveryFailures.failed(
          'Acknowledging delivered messages failed; a sweep delivers them again (the bus drops the copies) once the claim runs out.',
          { tenantId, userId, error },
          tenantId,
        );
        return published;
      }
    }
    deliveryFailures.worked(tenantId);
    if (published > 0) logger.debug('Delivered queued messages.', { tenantId, userId, published });
    return published;
  };

  /**
   * Applies one operation, publishes the transition it decided, and delivers the messages it
   * claimed: `inline` returns the delivery to the caller, `await` waits for it, `background`
   * leaves it running.
   */
  const run = async (
    operation: OperationInput,
    delivery: 'inline' | 'await' | 'background' = 'background',
  ): Promise<PresenceApplyResult> => {
    const result = await store.apply({
      ...operation,
      at: now(),
      settings: storeSettings,
    } as PresenceOperation);
    if (result.dropped) {
      logger.warn('Dropped messages from an offline queue (full, or too old).', {
        tenantId: operation.tenantId,
        userId: operation.userId,
        dropped: result.dropped,
      });
    }
    if (result.transition) await publishTransitions(operation.tenantId, [result.transition]);
    if (result.delivery && delivery !== 'inline') {
      const delivering = deliver(operation.tenantId, operation.userId, result.delivery);
      if (delivery === 'await') await delivering;
      else track(delivering);
    }
    return result;
  };

  /** The stop() passes, one after the other (see `stop`). */
  let stopChain: Promise<void> = Promise.resolve();
  /** One pass of stop(): leaves this process's connections and waits for work in flight. */
  const stopOnce = async (): Promise<void> => {
    stopping = true;
    await Promise.all(wheel.items().map(leaveOnStop));
    while (connectsInFlight.size > 0) await Promise.allSettled(connectsInFlight);
    stopping = false;
    await sweeping;
    confirmations.flush();
    while (inFlight.size > 0) await Promise.all(inFlight);
  };

  let warnedNotStarted = false;
  let started = false;
  /** How many times stop() was called, and whether one runs: see `connect`. */
  let stops = 0;
  let stopping = false;
  /** Connects not returned yet: stop() waits for them (they leave on their own). */
  const connectsInFlight = new Set<Promise<unknown>>();

  /**
   * Registers a connection; `state` (set at `stateAt`) restores the user's state to a record that
   * lost it. `token` names this life of the connection id (the handle's): a close of an earlier
   * life that arrives after this connect does not end it.
   */
  const register = async (
    tenantId: string,
    userId: string,
    connectionId: string,
    token: string,
    data: string | undefined,
    away: boolean,
    state: string | undefined,
    stateAt: number | undefined,
  ): Promise<PresenceApplyResult> => {
    const result = await run({
      kind: 'connect',
      tenantId,
      userId,
      connectionId,
      token,
      ...(data === undefined ? {} : { data }),
      ...(away ? { away } : {}),
      ...(state === undefined ? {} : { state }),
      ...(state === undefined || stateAt === undefined ? {} : { stateAt }),
    });
    if (result.outcome === 'limit') {
      throw new TooManyConnectionsError({
        message: `User ${JSON.stringify(userId)} already has ${storeSettings.maxConnectionsPerUser} connections.`,
      });
    }
    return result;
  };

  /**
   * The connection is gone from the store (expired and swept, or the store lost its data):
   * register it again, with the state it last knew (and when it was set) for a record that was
   * lost with it.
   */
  const reRegister = async (handle: PresenceConnectionHandle): Promise<void> => {
    const { tenantId, userId, connectionId, token } = handle;
    try {
      await register(
        tenantId,
        userId,
        connectionId,
        token,
        handle.data,
        handle.away,
        handle.state,
        handle.stateAt,
      );
      // Closed meanwhile: a register that took more than one round trip (the tenant listed
      // again first) landed after the disconnect, which found nothing to end. Sent again, or
      // the connection would stay, with nobody heartbeating it, until the TTL.
      if (handle.closed) {
        const immediate = handle.leftImmediately;
        await run({ kind: 'disconnect', tenantId, userId, connectionId, immediate, token });
      }
    } catch (error) {
      if (!TooManyConnectionsError.isInstance(error)) throw error;
      logger.error('A connection that expired could not come back: too many connections.', {
        tenantId: handle.tenantId,
        userId: handle.userId,
        connectionId: handle.connectionId,
      });
      handle.closed = true;
      wheel.remove(handle);
    }
  };

  /** One heartbeat through the full rules (what a batch sends back as `slow`). */
  const applyHeartbeat = async (handle: PresenceConnectionHandle): Promise<void> => {
    if (handle.closed) return;
    const { tenantId, userId, connectionId } = handle;
    const result = await run({ kind: 'heartbeat', tenantId, userId, connectionId, read: true });
    if (result.outcome === 'missing') {
      if (!handle.closed) await reRegister(handle);
      return;
    }
    handle.state = result.record?.state;
    handle.stateAt = result.record?.stateAt;
  };

  const batcher = store.heartbeat
    ? createHeartbeatBatcher({
        heartbeat: store.heartbeat.bind(store),
        now,
        settings: storeSettings,
        onSlow: applyHeartbeat,
        onMissing: reRegister,
      })
    : undefined;

  const handleEngine: PresenceHandleEngine = {
    heartbeat(handle) {
      if (handle.closed) return Promise.resolve();
      return batcher ? batcher.add(handle) : applyHeartbeat(handle);
    },
    async update(handle, data) {
      if (handle.closed) return;
      const json = toBoundedJson(data, settings.maxDataLength, 'Connection data');
      handle.data = json;
      const { tenantId, userId, connectionId } = handle;
      const result = await run({
        kind: 'update',
        tenantId,
        userId,
        connectionId,
        ...(json === undefined ? {} : { data: json }),
      });
      if (result.outcome === 'missing' && !handle.closed) await reRegister(handle);
    },
    async setAway(handle, away) {
      if (handle.closed) return;
      if (typeof away !== 'boolean') {
        throw new InvalidArgumentError({ message: 'setAway takes a boolean.' });
      }
      handle.away = away;
      const { tenantId, userId, connectionId } = handle;
      const result = await run({ kind: 'away', tenantId, userId, connectionId, away });
      if (result.outcome === 'missing' && !handle.closed) await reRegister(handle);
    },
    async disconnect(handle, immediate) {
      if (handle.closed) return;
      handle.closed = true;
      handle.leftImmediately = immediate;
      wheel.remove(handle);
      const { tenantId, userId, connectionId, token } = handle;
      await run({ kind: 'disconnect', tenantId, userId, connectionId, immediate, token });
    },
  };

  async function connect(
    input: PresenceConnectInput | Principal,
    connectOptions?: PresenceConnectOptions,
  ): Promise<PresenceConnection> {
    if (input == null || typeof input !== 'object') {
      throw new InvalidArgumentError({
        message: 'connect takes { tenantId, userId, connectionId?, data? } or a Principal.',
      });
    }
    if (
      connectOptions !== undefined &&
      (connectOptions === null || typeof connectOptions !== 'object')
    ) {
      throw new InvalidArgumentError({ message: 'connect options must be an object.' });
    }
    // With a second argument the first is a Principal: only its tenant and user are read.
    const source = connectOptions ?? (input as PresenceConnectInput);
    const { tenantId, userId } = input;
    if (userId === undefined) {
      throw new InvalidArgumentError({
        message:
          'Presence needs a userId: the principal has none (anonymous connections have no presence).',
      });
    }
    checkUserId(userId);
    const connectionId = source.connectionId ?? randomUUID();
    checkConnectionId(connectionId);
    const data = toBoundedJson(source.data, settings.maxDataLength, 'Connection data');
    await checkTenant(tenantId);
    if (!started && settings.autoHeartbeat && !warnedNotStarted) {
      warnedNotStarted = true;
      logger.warn(
        'connect() before start(): connections are not heartbeated and expired ones are not swept until start() runs.',
      );
    }
    const stopsBefore = stops;
    const connecting = (async () => {
      // The state is learned from the heartbeats (not read here: a connect storm stays cheap).
      // This life of the connection id: 72 random bits, 12 characters.
      const token = randomBytes(9).toString('base64url');
      await register(tenantId, userId, connectionId, token, data, false, undefined, undefined);
      const handle = new PresenceConnectionHandle(
        handleEngine,
        tenantId,
        userId,
        connectionId,
        token,
        data,
      );
      wheel.add(handle);
      // stop() ran (or runs) while this one was stored: it leaves like the others, not after
      // the TTL with nobody heartbeating it.
      if (stops !== stopsBefore || stopping) await leaveOnStop(handle);
      return handle;
    })();
    connectsInFlight.add(connecting);
    try {
      return await connecting;
    } finally {
      connectsInFlight.delete(connecting);
    }
  }

  /** Disconnects a connection with the leave delay for stop(); a failure is logged. */
  const leaveOnStop = (handle: PresenceConnectionHandle): Promise<void> =>
    handleEngine.disconnect(handle, false).catch((error: unknown) => {
      logger.error('Disconnecting a connection on stop failed; it expires instead.', {
        connectionId: handle.connectionId,
        error,
      });
    });

  const checkUser = async (tenantId: string, userId: string): Promise<void> => {
    checkUserId(userId);
    await checkTenant(tenantId);
  };

  /** One user's active calls, from `calls` (all of them); undefined without it. */
  const readUserCalls = async (
    tenantId: string,
    userId: string,
  ): Promise<Map<string, string[]> | undefined> =>
    calls ? new Map([[userId, await readActiveCallsOfUser(calls, tenantId, userId)]]) : undefined;

  /**
   * Active calls of each of the users of `records`, from `calls`; undefined without it. One walk
   * of the tenant's active calls for all of them: the first page (started with the store's read:
   * `tenantCalls`), and when it was full (the tenant has more active calls than a read returns)
   * the pages after it. A reader that does not page is asked for the calls of each user the
   * first page had none of, who may have one further on.
   */
  const readMembersCalls = async (
    tenantId: string,
    tenantCalls: Promise<FirstActiveCallsPage> | undefined,
    records: readonly PresenceRecord[],
  ): Promise<Map<string, string[]> | undefined> => {
    if (!calls || !tenantCalls) return undefined;
    const first = await tenantCalls;
    const { byUser } = first;
    if (first.more === undefined || records.length === 0) return byUser;
    if (await readMoreActiveCalls(calls, tenantId, first)) return byUser;
    const unknown = records.map((record) => record.userId).filter((id) => !byUser.has(id));
    for (let start = 0; start < unknown.length; start += userCallReadBatch) {
      const batch = unknown.slice(start, start + userCallReadBatch);
      const lists = await Promise.all(
        batch.map((userId) => readActiveCallsOfUser(calls, tenantId, userId)),
      );
      for (const [index, userId] of batch.entries()) byUser.set(userId, lists[index]!);
    }
    return byUser;
  };

  const withCalls = (
    presence: UserPresence,
    byUser: Map<string, string[]> | undefined,
  ): UserPresence =>
    byUser ? { ...presence, calls: byUser.get(presence.userId) ?? [] } : presence;

  const isAvailableNow = (presence: UserPresence): boolean =>
    presence.status === 'online' &&
    settings.availableStates.has(presence.state) &&
    (presence.calls === undefined || presence.calls.length === 0);

  const readUser = async (tenantId: string, userId: string): Promise<UserPresence> => {
    const result = await run({ kind: 'settle', tenantId, userId, read: true });
    return result.record
      ? toUserPresence(result.record, now(), settings.initialState)
      : unknownUserPresence(tenantId, userId, settings.initialState);
  };

  /**
   * Sweeps one tenant until the store has nothing more due. Reads run it first, so what they
   * return (and the events already published) is exact as of now, even between two sweeps.
   */
  const sweepTenant = async (
    tenantId: string,
    deliveries: 'await' | 'background',
  ): Promise<PresenceSweepReport> => {
    const report: PresenceSweepReport = { transitions: 0, delivered: 0 };
    for (let round = 0; round < maxSweepRounds; round += 1) {
      const result = await store.sweep(tenantId, now(), storeSettings, sweepBatch);
      if (result.dropped > 0) {
        logger.warn('Dropped messages from offline queues (too old).', {
          tenantId,
          dropped: result.dropped,
        });
      }
      await publishTransitions(tenantId, result.transitions);
      report.transitions += result.transitions.length;
      for (const { userId, delivery } of result.deliveries) {
        const delivering = deliver(tenantId, userId, delivery);
        if (deliveries === 'await') report.delivered += await delivering;
        else track(delivering);
      }
      if (!result.more) break;
    }
    return report;
  };

  /** The statuses and limit of `listMembers` options, checked. */
  const checkListOptions = (
    listOptions: ListMembersOptions,
    method: string,
  ): { statuses: readonly ('online' | 'away')[]; limit: number } => {
    if (listOptions === null || typeof listOptions !== 'object') {
      throw new InvalidArgumentError({ message: `${method} takes { status?, limit? }.` });
    }
    const statuses =
      listOptions.status === undefined
        ? (['online', 'away'] as const)
        : typeof listOptions.status === 'string'
          ? [listOptions.status]
          : listOptions.status;
    if (
      !Array.isArray(statuses) ||
      statuses.length === 0 ||
      statuses.some((status) => status !== 'online' && status !== 'away')
    ) {
      throw new InvalidArgumentError({
        message:
          'status must be "online" or "away" (or a list of them): offline users are not listed.',
      });
    }
    return { statuses, limit: checkListLimit(listOptions.limit) };
  };

  /** A tenant's members as of now: swept first, so the list agrees with the events published. */
  const readMembers = async (
    tenantId: string,
    statuses: readonly ('online' | 'away')[],
    limit: number,
  ): Promise<UserPresence[]> => {
    await sweepTenant(tenantId, 'background');
    const tenantCalls = calls ? readActiveCallsByUser(calls, tenantId) : undefined;
    // Read alongside the store's (a failed one is not left unhandled when the other throws).
    tenantCalls?.catch(() => {});
    const records = await store.listMembers(tenantId, statuses, limit);
    const byUser = await readMembersCalls(tenantId, tenantCalls, records);
    const at = now();
    return records.map((record) =>
      withCalls(toUserPresence(record, at, settings.initialState), byUser),
    );
  };

  const listMembers = async (
    tenantId: string,
    listOptions: ListMembersOptions = {},
  ): Promise<UserPresence[]> => {
    await checkTenant(tenantId);
    const { statuses, limit } = checkListOptions(listOptions, 'listMembers');
    return readMembers(tenantId, statuses, limit);
  };

  const listMembersAcrossTenants = async (
    listOptions: ListMembersOptions = {},
  ): Promise<UserPresence[]> => {
    const { statuses, limit } = checkListOptions(listOptions, 'listMembersAcrossTenants');
    const members: UserPresence[] = [];
    // A tenant seen twice (a store's walk may repeat one) is listed once.
    const seen = new Set<string>();
    let cursor: string | undefined;
    do {
      const page = await store.listTenantPage(cursor, tenantPageSize);
      cursor = page.cursor;
      const tenants = page.tenants.filter((tenantId) => !seen.has(tenantId));
      for (const tenantId of tenants) seen.add(tenantId);
      // Counted first (O(1) each, the page at once): most tenants listed for the sweeper may
      // have nobody connected, and a sweep cannot make members (it only ends connections).
      const counts = await Promise.all(tenants.map((tenantId) => store.countMembers(tenantId)));
      const withMembers: [tenantId: string, count: number][] = [];
      for (const [index, tenantId] of tenants.entries()) {
        const count = statuses.reduce((sum, status) => sum + counts[index]![status], 0);
        if (count > 0) withMembers.push([tenantId, count]);
      }
      // A few tenants read at once rather than one after another: as many as the counts say the
      // list still needs (at most `tenantReadBatch`), each asked for what it needed at the start,
      // taken in order. A tenant cut at the limit keeps its lowest ids, as read one by one.
      let next = 0;
      while (next < withMembers.length) {
        const room = limit - members.length;
        const batch: string[] = [];
        for (let counted = 0; next < withMembers.length && batch.length < tenantReadBatch; ) {
          const [tenantId, count] = withMembers[next]!;
          batch.push(tenantId);
          next += 1;
          counted += count;
          if (counted >= room) break;
        }
        const lists = await Promise.all(
          batch.map((tenantId) => readMembers(tenantId, statuses, room)),
        );
        for (const list of lists) members.push(...list.slice(0, limit - members.length));
        if (members.length >= limit) return members;
      }
    } while (cursor !== undefined);
    return members;
  };

  let sweepTimer: ReturnType<typeof setInterval> | undefined;
  let heartbeatTimer: ReturnType<typeof setInterval> | undefined;
  let sweeping: Promise<unknown> | undefined;

  const sweepFailures = createOutageLog(logger, now, 'Sweeps');
  const heartbeatFailures = createOutageLog(logger, now, 'Heartbeats', {
    // Two turns of every connection: one would let a late tick of a failing tenant's
    // connection (the event loop lags) look like a quiet interval.
    quietMs: 2 * settings.heartbeatIntervalMs,
  });

  const sweep = async (): Promise<PresenceSweepReport> => {
    const report: PresenceSweepReport = { transitions: 0, delivered: 0 };
    // Whether a tenant could not be reached, or its client has ended: a tenant failing for another
    // reason (a bug, logged each time) must not keep an outage open once Redis answers again.
    let unreachable = false;
    for (const tenantId of await store.listTenants()) {
      try {
        const tenantReport = await sweepTenant(tenantId, 'await');
        report.transitions += tenantReport.transitions;
        report.delivered += tenantReport.delivered;
      } catch (error) {
        if (isOutageError(error) || isRedisClientClosedError(error)) unreachable = true;
        sweepFailures.failed('Sweeping a tenant failed; the next sweep tries again.', {
          tenantId,
          error,
        });
      }
    }
    if (!unreachable) {
      sweepFailures.worked();
      confirmationFailures.worked();
    }
    return report;
  };

  /**
   * Background heartbeats of each connection that have not ended. A Redis that holds commands
   * without failing them (paused, overloaded, a silent network) would otherwise get one more per
   * connection every turn for as long as it holds them, each kept in memory. At most a TTL's
   * worth wait: a Redis slower than an interval but faster than the TTL still gets every turn's
   * (fewer would let connections expire between two that land), one that holds them longer gets
   * no more until they end.
   */
  const beating = new Map<PresenceConnectionHandle, number>();
  const maxBeating = Math.ceil(storeSettings.connectionTtlMs / settings.heartbeatIntervalMs);
  const beat = (): void => {
    for (const handle of wheel.tick()) {
      const waiting = beating.get(handle) ?? 0;
      if (waiting >= maxBeating) continue;
      beating.set(handle, waiting + 1);
      track(
        handleEngine
          .heartbeat(handle)
          .then(
            () => heartbeatFailures.worked(),
            (error: unknown) => {
              heartbeatFailures.failed('A heartbeat failed; the next one tries again.', {
                tenantId: handle.tenantId,
                userId: handle.userId,
                connectionId: handle.connectionId,
                error,
              });
            },
          )
          .finally(() => {
            const left = beating.get(handle)! - 1;
            if (left > 0) beating.set(handle, left);
            else beating.delete(handle);
          }),
      );
    }
  };

  return {
    connect: connect as Presence['connect'],
    async setState(tenantId, userId, state) {
      await checkUser(tenantId, userId);
      checkState(state);
      const result = await run({ kind: 'state', tenantId, userId, state, read: true });
      return toUserPresence(result.record!, now(), settings.initialState);
    },
    async getPresence(tenantId, userId) {
      await checkUser(tenantId, userId);
      const [presence, byUser] = await Promise.all([
        readUser(tenantId, userId),
        readUserCalls(tenantId, userId),
      ]);
      return withCalls(presence, byUser);
    },
    listMembers,
    listMembersAcrossTenants,
    async countOnline(tenantId): Promise<PresenceCount> {
      await checkTenant(tenantId);
      await sweepTenant(tenantId, 'background');
      return store.countMembers(tenantId);
    },
    async isAvailable(tenantId, userId) {
      await checkUser(tenantId, userId);
      const presence = await readUser(tenantId, userId);
      if (!isAvailableNow(presence)) return false;
      return isAvailableNow(withCalls(presence, await readUserCalls(tenantId, userId)));
    },
    async listAvailable(tenantId, availableOptions = {}) {
      const limit = checkListLimit(availableOptions?.limit);
      // Availability is decided after the read: every online user the store lists is read, so
      // that agents past the first `limit` ids are found when those before them are busy.
      const members = await listMembers(tenantId, { status: 'online', limit: listLimit.max });
      return members.filter(isAvailableNow).slice(0, limit);
    },
    async send(tenantId, userId, message, sendOptions: SendOptions = {}): Promise<SendResult> {
      await checkUser(tenantId, userId);
      if (sendOptions === null || typeof sendOptions !== 'object') {
        throw new InvalidArgumentError({ message: 'send options must be an object.' });
      }
      const messageId = sendOptions.messageId ?? randomUUID();
      checkMessageId(messageId);
      const body = toBoundedJson(message, settings.maxMessageLength, 'The message');
      if (body === undefined) {
        throw new InvalidArgumentError({ message: 'send needs a message (any JSON value).' });
      }
      const result = await run({ kind: 'send', tenantId, userId, messageId, body }, 'await');
      return {
        messageId,
        sequence: result.sequence ?? 0,
        queued: result.queued === true,
        dropped: result.dropped ?? 0,
      };
    },
    sweep,
    start() {
      started = true;
      if (!sweepTimer) {
        sweepTimer = setInterval(() => {
          if (sweeping) return;
          sweeping = sweep()
            .catch((error: unknown) => sweepFailures.failed('A sweep failed.', { error }))
            .finally(() => {
              sweeping = undefined;
            });
        }, settings.sweepIntervalMs);
        sweepTimer.unref?.();
      }
      if (settings.autoHeartbeat && !heartbeatTimer) {
        heartbeatTimer = setInterval(beat, wheel.tickMs);
        heartbeatTimer.unref?.();
      }
    },
    async stop() {
      started = false;
      stops += 1;
      stopping = true;
      if (sweepTimer) clearInterval(sweepTimer);
      if (heartbeatTimer) clearInterval(heartbeatTimer);
      sweepTimer = undefined;
      heartbeatTimer = undefined;
      // A stop() while one runs waits for it, then makes a pass of its own (connections made in
      // between leave too): it found the first's leaves gone from the wheel but not done, and
      // resolved before them; and the first, ending, let connects during the second stay.
      const run = stopChain.then(stopOnce);
      stopChain = run.catch(() => {});
      await run;
    },
  };
}
