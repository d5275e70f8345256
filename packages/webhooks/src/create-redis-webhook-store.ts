import { InvalidArgumentError } from '@calltrack/core';
import {
  catchRedisStoreErrors,
  checkNoKeyPrefix,
  checkTimerDelayMs,
  type RedisStoreOperations,
} from '@calltrack/core/internal';
import { defineRedisScript } from '@calltrack/redis-script';
import { DelayedError, Queue, Worker } from 'bullmq';
import type { Redis } from 'ioredis';
import { createRedisScriptBatcher } from './create-redis-script-batcher';
import { createSlotWaiters } from './create-slot-waiters';
import { EndpointQuotaExceededError } from './errors/endpoint-quota-exceeded-error';
import { eventDeliveryJob } from './event-delivery-job';
import {
  acquireSlotScript,
  beginAttemptScript,
  claimRecoveriesScript,
  createDeliveriesScript,
  createEndpointScript,
  deleteEndpointScript,
  listAttemptsScript,
  listFailedScript,
  markResendScript,
  recordAttemptScript,
  releaseSlotScript,
  saveSettingsScript,
  setEnabledScript,
  takeExpiredLeasesScript,
  takeRateTokenScript,
} from './redis-webhook-scripts';
import type {
  DeliveryJob,
  DeliveryJobOutcome,
  WebhookAttempt,
  WebhookDelivery,
  WebhookMessage,
} from './webhook-delivery';
import type { EndpointDisabledReason, StoredEndpoint } from './webhook-endpoint';
import type {
  AttemptStart,
  CreatedDeliveries,
  DeliveryJobHandler,
  DeliveryWorkerOptions,
  EndpointSettings,
  ListQuery,
  RecordAttemptInput,
  RecordAttemptResult,
  WebhookStore,
} from './webhook-store';

/** A queued job's data: tenant, endpoint and message ids. */
type QueuedJobData = [tenantId: string, endpointId: string, messageId: string];

/** Options of {@link createRedisWebhookStore}. */
export interface RedisWebhookStoreOptions {
  /**
   * Your ioredis client (standalone `Redis`). The store runs its own commands on it and
   * `duplicate()`s it for BullMQ, which registers its scripts: the queue's duplicate keeps your
   * options, the worker's blocking one has `maxRetriesPerRequest: null` (which BullMQ needs), no
   * `commandTimeout` and an offline queue. It closes only the duplicates.
   */
  redis: Redis;
  /**
   * Prefix of every key. Default `calltrack:webhooks`. A tenant's keys share the hash tag
   * `{tenantId}`; BullMQ's keys use `{<prefix>}`.
   */
  prefix?: string;
  /**
   * How long a worker's lock on a running delivery lasts before another worker may take the job
   * over (renewed every half of it while the worker lives). After a crash (`kill -9`) the job runs
   * again within about this much plus `stalledIntervalMs`. Default 30,000 ms.
   *
   * A first attempt sent directly by the process that created the delivery (no job yet) is held
   * by a lease instead, of the dispatcher's `timeoutMs` plus 5 s (as an endpoint's concurrency
   * slot), not renewed: the attempt (a free send permit, one store step, the request, one store
   * step) must end within it, or another process may send the delivery again. After a crash the
   * delivery is queued within about that lease plus `stalledIntervalMs`. A lease being queued is
   * held for `lockDurationMs` meanwhile.
   */
  lockDurationMs?: number;
  /**
   * How often workers look for jobs whose worker died, and for leased first attempts whose
   * process died (one script per tenant with endpoints, pipelined). Default 30,000 ms.
   */
  stalledIntervalMs?: number;
}

const scripts = {
  createEndpoint: defineRedisScript(createEndpointScript),
  saveSettings: defineRedisScript(saveSettingsScript),
  setEnabled: defineRedisScript(setEnabledScript),
  deleteEndpoint: defineRedisScript(deleteEndpointScript),
  createDeliveries: defineRedisScript(createDeliveriesScript),
  recordAttempt: defineRedisScript(recordAttemptScript),
  listAttempts: defineRedisScript(listAttemptsScript),
  listFailed: defineRedisScript(listFailedScript),
  acquireSlot: defineRedisScript(acquireSlotScript),
  beginAttempt: defineRedisScript(beginAttemptScript),
  takeRateToken: defineRedisScript(takeRateTokenScript),
  takeExpiredLeases: defineRedisScript(takeExpiredLeasesScript),
  releaseSlot: defineRedisScript(releaseSlotScript),
  markResend: defineRedisScript(markResendScript),
  claimRecoveries: defineRedisScript(claimRecoveriesScript),
};

/** Most expired leases taken per tenant and sweep, and tenants swept per pipeline. */
const sweepBatch = 500;

const settingsFields = [
  'url',
  'description',
  'events',
  'headers',
  'rateLimitPerSecond',
  'maxConcurrency',
  'secrets',
  'updatedAt',
] as const;

/**
 * A {@link WebhookStore} on Redis, shared by every dispatcher process: endpoints, messages,
 * deliveries and the log in tenant-tagged keys, each change one Lua script; the delivery queue is
 * BullMQ (delayed jobs for retries, locks and stalled-job recovery for crashed workers), so
 * scheduled retries and in-flight deliveries survive restarts and `kill -9` (at least once). A
 * first attempt sent directly by its creator holds a lease instead of a job; a lease that runs
 * out (the creator died) is turned into the job by any delivering process.
 *
 * Per tenant (`<prefix>:{<tenant>}:`): `endpoints` (sorted set), `ep:<id>` (hash), `msg:<id>`,
 * `dlv:<endpoint>:<message>` (hash; with the attempt in flight's `holder` and `heldUntil`, a
 * resend's `resend` mark, a recovery's `recovered` claim and `recoverDropped` mark), `log:<endpoint>` + `logdata:<endpoint>` (+ `logtests:<endpoint>`,
 * the ids of its test-send rows), `failed` and
 * `failed:<endpoint>` (sorted sets), `slots:<endpoint>` (sorted set of concurrency leases),
 * `leases` (sorted set: deliveries whose first attempt a process sends directly, by lease end).
 * Global: `<prefix>:tenants`, `<prefix>:cursors`, `<prefix>:rate:<endpoint>` and
 * `<prefix>:rate:test:<tenant>` (a tenant's test sends). Messages, deliveries and logs are kept
 * for the dispatcher's retention on its clock (the scripts are given its `now`); the keys also
 * expire on Redis's clock, a safety net that deletes what nothing reads any more.
 */
export function createRedisWebhookStore(options: RedisWebhookStoreOptions): WebhookStore {
  if (options == null || typeof options !== 'object' || options.redis == null) {
    throw new InvalidArgumentError({
      message: 'createRedisWebhookStore needs { redis }: your ioredis client.',
    });
  }
  const { redis } = options;
  checkNoKeyPrefix('createRedisWebhookStore', redis);
  const prefix = options.prefix ?? 'calltrack:webhooks';
  if (typeof prefix !== 'string' || prefix === '' || /[{}]/.test(prefix)) {
    throw new InvalidArgumentError({
      message: 'createRedisWebhookStore: prefix must be a non-empty string without "{" or "}".',
    });
  }
  // Timers: Node runs a longer (or NaN, or 0) interval every millisecond, which for the lease
  // sweep is a scan of every tenant each millisecond.
  const lockDuration = checkTimerDelayMs(
    'createRedisWebhookStore',
    'lockDurationMs',
    options.lockDurationMs,
    30_000,
  );
  const stalledInterval = checkTimerDelayMs(
    'createRedisWebhookStore',
    'stalledIntervalMs',
    options.stalledIntervalMs,
    30_000,
  );
  const tenantsKey = `${prefix}:tenants`;
  const cursorsKey = `${prefix}:cursors`;
  const base = (tenantId: string): string => `${prefix}:{${tenantId}}:`;
  const endpointKey = (tenantId: string, id: string): string => `${base(tenantId)}ep:${id}`;
  const deliveryKey = (tenantId: string, endpointId: string, messageId: string): string =>
    `${base(tenantId)}dlv:${endpointId}:${messageId}`;
  const slotsKey = (tenantId: string, endpointId: string): string =>
    `${base(tenantId)}slots:${endpointId}`;
  const leasesKey = (tenantId: string): string => `${base(tenantId)}leases`;
  // Stored compactly (bytes per scheduled retry): a message is a JSON header line, then the body
  // as it is (not escaped inside JSON); a log row leaves out what its key already says; a job's
  // data is [tenant, endpoint, message] (its name is the trigger, its id the job id).
  const encodeMessage = (message: WebhookMessage): string =>
    `${JSON.stringify([message.eventId, message.eventType, message.createdAt])}\n${message.body}`;
  const decodeMessage = (tenantId: string, id: string, text: string): WebhookMessage => {
    const newline = text.indexOf('\n');
    const [eventId, eventType, createdAt] = JSON.parse(text.slice(0, newline)) as [
      string,
      string,
      number,
    ];
    return { id, tenantId, eventId, eventType, body: text.slice(newline + 1), createdAt };
  };
  const encodeAttempt = ({
    id: _id,
    tenantId: _tenant,
    endpointId: _endpoint,
    ...row
  }: WebhookAttempt) => JSON.stringify(row);
  const decodeAttempt = (tenantId: string, endpointId: string, id: string, row: string) =>
    ({ id, tenantId, endpointId, ...JSON.parse(row) }) as WebhookAttempt;
  /** A test send's row with a bound on the endpoint's test rows (the script's optional key). */
  const isBoundedTest = (
    input: RecordAttemptInput,
  ): input is RecordAttemptInput & { maxTestAttemptsPerEndpoint: number } =>
    input.attempt.trigger === 'test' && input.maxTestAttemptsPerEndpoint !== undefined;
  /** The record script's positional arguments ('' = absent). */
  const recordAttemptArgs = (input: RecordAttemptInput): (string | number)[] => {
    const { attempt, delivery, health } = input;
    return [
      input.now,
      input.releaseSlot ?? '',
      input.retentionMs,
      input.maxAttemptsPerEndpoint,
      attempt.id,
      attempt.startedAt,
      attempt.endpointId,
      attempt.messageId,
      attempt.eventType,
      encodeAttempt(attempt),
      delivery?.status ?? '',
      delivery?.attempts ?? '',
      delivery?.updatedAt ?? '',
      delivery?.lastStatusCode ?? '',
      delivery?.nextAttemptAt ?? '',
      delivery?.lastError ?? '',
      // Set, cleared (present but undefined), or kept (absent: a success keeps the last error).
      delivery === undefined || !('lastError' in delivery)
        ? ''
        : delivery.lastError === undefined
          ? '0'
          : '1',
      health === undefined ? '' : health.succeeded ? 's' : 'f',
      health?.disable ?? '',
      health?.failureWindowMs ?? '',
      health?.minFailures ?? '',
      health?.message ?? '',
      input.servedResend ?? '',
      // Only a test send's row is bounded apart (with its key, so other records pass one key less).
      ...(isBoundedTest(input) ? [input.maxTestAttemptsPerEndpoint] : []),
    ];
  };
  /** A flat HGETALL reply as a record. */
  const hashOf = (flat: readonly string[]): Record<string, string> => {
    const hash: Record<string, string> = {};
    for (let index = 0; index + 1 < flat.length; index += 2) hash[flat[index]!] = flat[index + 1]!;
    return hash;
  };
  // The scripts of one event-loop turn (many workers' begins and records, a batch's deliveries)
  // travel in one pipeline.
  const runBatched = createRedisScriptBatcher(redis);
  const run = (script: keyof typeof scripts, keys: string[], args: (string | number)[]) =>
    runBatched(scripts[script], keys, args);

  // BullMQ gets connections of its own (it registers scripts). The queue's keeps the client's
  // options: only the worker's blocking connection needs `maxRetriesPerRequest: null`, which on
  // the queue's kept an enqueue waiting for ever while Redis was down.
  let queueConnection: Redis | undefined;
  let queue: Queue<QueuedJobData> | undefined;
  const queueName = 'deliveries';
  const queuePrefix = `{${prefix}}`;
  const getQueue = (): Queue<QueuedJobData> => {
    if (!queue) {
      queueConnection = redis.duplicate();
      queue = new Queue<QueuedJobData>(queueName, {
        connection: queueConnection,
        prefix: queuePrefix,
        defaultJobOptions: { removeOnComplete: true, removeOnFail: { age: 7 * 24 * 3600 } },
      });
      queue.on('error', () => {});
    }
    return queue;
  };
  let worker: Worker<QueuedJobData> | undefined;
  let workerConnection: Redis | undefined;
  let stopAdvance: (() => void) | undefined;
  // This process's jobs answered a wait (a held delivery, a full endpoint), by the delivery's or
  // the slots' key: a release made here promotes them at once. A release in another process is
  // not seen (telling every process would take a pub/sub message per release, on the path of
  // every attempt): there the job's deferral, at most 1 s, stays the fallback.
  const waiters = createSlotWaiters();

  const toEndpoint = (
    tenantId: string,
    id: string,
    hash: Record<string, string>,
  ): StoredEndpoint | undefined => {
    if (!hash.settings) return undefined;
    const settings = JSON.parse(hash.settings) as Pick<
      StoredEndpoint,
      (typeof settingsFields)[number]
    > & {
      createdAt: number;
    };
    const stateUpdatedAt = Number(hash.stateUpdatedAt ?? 0);
    return {
      id,
      tenantId,
      url: settings.url,
      description: settings.description,
      events: settings.events,
      headers: settings.headers,
      rateLimitPerSecond: settings.rateLimitPerSecond,
      maxConcurrency: settings.maxConcurrency,
      secrets: settings.secrets,
      createdAt: settings.createdAt,
      updatedAt: Math.max(settings.updatedAt, stateUpdatedAt),
      enabled: hash.enabled === '1',
      consecutiveFailures: Number(hash.failures ?? 0),
      ...(hash.disabledAt === undefined
        ? {}
        : {
            disabledAt: Number(hash.disabledAt),
            disabledReason: hash.disabledReason as EndpointDisabledReason,
            disabledMessage: hash.disabledMessage ?? '',
          }),
      ...(hash.failingSince === undefined ? {} : { failingSince: Number(hash.failingSince) }),
    };
  };

  const settingsJson = (endpoint: EndpointSettings & { createdAt: number }): string =>
    JSON.stringify({
      url: endpoint.url,
      description: endpoint.description,
      events: endpoint.events,
      headers: endpoint.headers,
      rateLimitPerSecond: endpoint.rateLimitPerSecond,
      maxConcurrency: endpoint.maxConcurrency,
      secrets: endpoint.secrets,
      updatedAt: endpoint.updatedAt,
      createdAt: endpoint.createdAt,
    });

  const toDelivery = (
    tenantId: string,
    endpointId: string,
    messageId: string,
    hash: Record<string, string>,
  ): WebhookDelivery | undefined => {
    if (!hash.status) return undefined;
    return {
      tenantId,
      endpointId,
      messageId,
      eventType: hash.eventType ?? '',
      status: hash.status as WebhookDelivery['status'],
      attempts: Number(hash.attempts ?? 0),
      createdAt: Number(hash.createdAt ?? 0),
      updatedAt: Number(hash.updatedAt ?? 0),
      ...(hash.nextAttemptAt === undefined ? {} : { nextAttemptAt: Number(hash.nextAttemptAt) }),
      ...(hash.lastError === undefined ? {} : { lastError: hash.lastError }),
      ...(hash.lastStatusCode === undefined ? {} : { lastStatusCode: Number(hash.lastStatusCode) }),
    };
  };

  /** The cursor and bounds of a list script (see `pageLua`). */
  const range = (query: ListQuery): [string, string, string] => [
    query.before === undefined ? '' : String(query.before),
    query.before === undefined ? '' : (query.beforeKey ?? ''),
    query.since === undefined ? '-inf' : String(query.since),
  ];

  const enqueue = async (jobs: readonly DeliveryJob[]): Promise<void> => {
    if (jobs.length === 0) return;
    // A resend's mark first: its job must never run before it (finding none, it would send
    // nothing). A mark whose job then fails to be queued is served by the delivery's next attempt.
    const resends = jobs.filter((job) => job.trigger === 'resend');
    if (resends.length > 0) {
      await Promise.all(
        resends.map((job) =>
          run('markResend', [deliveryKey(job.tenantId, job.endpointId, job.messageId)], [job.id]),
        ),
      );
    }
    // A recovery queued again: a claim of it counts (the job dropped before is not this one).
    const recoveries = jobs.filter((job) => job.trigger === 'recover');
    if (recoveries.length > 0) {
      const pipeline = redis.pipeline();
      for (const job of recoveries) {
        pipeline.hdel(deliveryKey(job.tenantId, job.endpointId, job.messageId), 'recoverDropped');
      }
      for (const [error] of (await pipeline.exec()) ?? []) if (error) throw error;
    }
    await getQueue().addBulk(
      jobs.map((job) => ({
        name: job.trigger,
        data: [job.tenantId, job.endpointId, job.messageId],
        opts: { jobId: job.id },
      })),
    );
    // Queued: the job holds the delivery now, so a lease on it ends (a no-op when none).
    const leased = new Map<string, string[]>();
    for (const job of jobs) {
      if (job.trigger !== 'event') continue;
      const members = leased.get(job.tenantId) ?? [];
      members.push(`${job.endpointId}:${job.messageId}`);
      leased.set(job.tenantId, members);
    }
    if (leased.size === 0) return;
    const pipeline = redis.pipeline();
    for (const [tenantId, members] of leased) pipeline.zrem(leasesKey(tenantId), ...members);
    await pipeline.exec();
  };

  /**
   * Queues the deliveries whose lease ran out (their process died between creating and recording
   * them): each tenant's expired leases are taken and extended in one script, then queued with
   * their usual job ids (a job that exists already is skipped), which ends the leases.
   */
  const sweepLeases = async (): Promise<void> => {
    let cursor = '0';
    do {
      const [next, tenants] = await redis.sscan(tenantsKey, cursor, 'COUNT', sweepBatch);
      cursor = next;
      const taken = await Promise.all(
        tenants.map(
          async (tenantId) =>
            [
              tenantId,
              (await run(
                'takeExpiredLeases',
                [leasesKey(tenantId)],
                [lockDuration, sweepBatch],
              )) as string[],
            ] as const,
        ),
      );
      const jobs: DeliveryJob[] = [];
      for (const [tenantId, members] of taken) {
        for (const member of members) {
          const colon = member.indexOf(':');
          const endpointId = member.slice(0, colon);
          const messageId = member.slice(colon + 1);
          jobs.push(eventDeliveryJob(tenantId, endpointId, messageId));
        }
      }
      await enqueue(jobs);
    } while (cursor !== '0' && worker);
  };
  let sweepTimer: NodeJS.Timeout | undefined;
  let sweeping = false;

  /** Resolves once `connection` is not connected (at once when it is not now). */
  const whenLost = (connection: Redis | undefined): Promise<void> =>
    new Promise((resolve) => {
      if (connection?.status !== 'ready') resolve();
      else connection.once('close', () => resolve());
    });

  const stopWorker = async (): Promise<void> => {
    if (sweepTimer) clearInterval(sweepTimer);
    sweepTimer = undefined;
    stopAdvance?.();
    stopAdvance = undefined;
    const running = worker;
    worker = undefined;
    // BullMQ's graceful close waits for its blocking connection to end, which it never does while
    // Redis is unreachable (taskforcesh/bullmq#4656): a process stopping during an outage hung.
    // It is waited for while the worker's connection is up; once that is lost, no more: jobs
    // still active here keep their place in Redis and run again once their lock lapses, as after
    // a crash (with Redis down they could not have finished).
    if (running) {
      const closing = running.close();
      closing.catch(() => {}); // no longer waited for once the connection is lost
      await Promise.race([closing, whenLost(workerConnection)]);
    }
    waiters.clear();
    workerConnection?.disconnect();
    workerConnection = undefined;
  };

  /**
   * Deletes an endpoint's deliveries (and its first attempts' leases, its concurrency slots),
   * after the endpoint: they would stay until their message expires (`retentionMs`, 14 days by
   * default), readable and taking memory. No index lists an endpoint's deliveries (one would cost
   * a write and about a third more memory per delivery, for a rare operation): the keyspace is
   * scanned (`SCAN`, in batches, never blocking Redis), so a delete takes longer on a Redis with
   * more keys. An attempt of the deleted endpoint writes nothing (`recordAttempt`); a delivery
   * fanned out from a cached endpoint list after the delete, or one left by a delete that failed
   * halfway, expires with its message, as before.
   */
  const deleteDeliveriesOf = async (tenantId: string, endpointId: string): Promise<void> => {
    const deliveries = deliveryKey(tenantId, endpointId, '');
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(
        cursor,
        'MATCH',
        `${deliveries.replace(/[*?[\]\\]/g, '\\$&')}*`,
        'COUNT',
        1000,
      );
      cursor = next;
      if (keys.length > 0) {
        const replies = await redis
          .pipeline()
          .unlink(...keys)
          .zrem(
            leasesKey(tenantId),
            ...keys.map((key) => `${endpointId}:${key.slice(deliveries.length)}`),
          )
          .exec();
        for (const [error] of replies ?? []) if (error) throw error;
      }
    } while (cursor !== '0');
    await redis.unlink(slotsKey(tenantId, endpointId));
  };

  const store: WebhookStore = {
    // The tenants set is a key of its own (its slot is not the tenant's), so it changes outside
    // the scripts. The lease sweep visits only the tenants in it, so a tenant with an endpoint
    // must never be missing: it is added before the endpoint (a process that dies after the
    // script still left it) and again after (a concurrent delete of the tenant's last endpoint
    // may have removed it in between), and a delete that removes it looks again and puts it back
    // when an endpoint appeared meanwhile.
    async createEndpoint(endpoint, maxPerTenant) {
      await redis.sadd(tenantsKey, endpoint.tenantId);
      const created = await run(
        'createEndpoint',
        [`${base(endpoint.tenantId)}endpoints`, endpointKey(endpoint.tenantId, endpoint.id)],
        [
          endpoint.id,
          endpoint.createdAt,
          maxPerTenant,
          'settings',
          settingsJson(endpoint),
          'enabled',
          endpoint.enabled ? '1' : '0',
          'failures',
          '0',
          ...(endpoint.disabledAt === undefined
            ? []
            : [
                'disabledAt',
                endpoint.disabledAt,
                'disabledReason',
                endpoint.disabledReason ?? 'manual',
                'disabledMessage',
                endpoint.disabledMessage ?? '',
              ]),
        ],
      );
      if (created !== 1) {
        throw new EndpointQuotaExceededError({
          message: `A tenant may have at most ${maxPerTenant} webhook endpoints.`,
        });
      }
      await redis.sadd(tenantsKey, endpoint.tenantId);
    },

    async getEndpoint(tenantId, endpointId) {
      return toEndpoint(
        tenantId,
        endpointId,
        await redis.hgetall(endpointKey(tenantId, endpointId)),
      );
    },

    async listEndpoints(tenantId) {
      const ids = await redis.zrange(`${base(tenantId)}endpoints`, 0, -1);
      if (ids.length === 0) return [];
      const pipeline = redis.pipeline();
      for (const id of ids) pipeline.hgetall(endpointKey(tenantId, id));
      const results = (await pipeline.exec()) ?? [];
      const endpoints: StoredEndpoint[] = [];
      ids.forEach((id, index) => {
        const [error, hash] = results[index] ?? [];
        if (error) throw error;
        const endpoint = toEndpoint(tenantId, id, hash as Record<string, string>);
        if (endpoint) endpoints.push(endpoint);
      });
      return endpoints;
    },

    async saveEndpointSettings(settings, expected) {
      const key = endpointKey(settings.tenantId, settings.id);
      const current = await redis.hget(key, 'settings');
      if (current === null) return false;
      const { createdAt } = JSON.parse(current) as { createdAt: number };
      return (
        (await run(
          'saveSettings',
          [key],
          [
            settingsJson({ ...settings, createdAt }),
            expected ? settingsJson({ ...expected, createdAt }) : '',
          ],
        )) === 1
      );
    },

    async setEndpointEnabled(tenantId, endpointId, enabled, now) {
      return (
        (await run(
          'setEnabled',
          [endpointKey(tenantId, endpointId)],
          [enabled ? '1' : '0', now],
        )) === 1
      );
    },

    async deleteEndpoint(tenantId, endpointId) {
      const tenant = base(tenantId);
      const deleted = await run(
        'deleteEndpoint',
        [
          `${tenant}endpoints`,
          endpointKey(tenantId, endpointId),
          `${tenant}log:${endpointId}`,
          `${tenant}logdata:${endpointId}`,
          `${tenant}failed:${endpointId}`,
          `${tenant}failed`,
          `${tenant}logtests:${endpointId}`,
        ],
        [endpointId],
      );
      if ((await redis.zcard(`${tenant}endpoints`)) === 0) {
        await redis.srem(tenantsKey, tenantId);
        if ((await redis.zcard(`${tenant}endpoints`)) > 0) await redis.sadd(tenantsKey, tenantId);
      }
      await deleteDeliveriesOf(tenantId, endpointId);
      return deleted === 1;
    },

    async listTenants() {
      return await redis.smembers(tenantsKey);
    },

    async createDeliveries(message, endpointIds, retentionMs, lease): Promise<CreatedDeliveries> {
      const created: CreatedDeliveries = { pending: [], leased: [] };
      if (endpointIds.length === 0) return created;
      const positions = (await run(
        'createDeliveries',
        [
          `${base(message.tenantId)}msg:${message.id}`,
          leasesKey(message.tenantId),
          ...endpointIds.map((endpointId) => deliveryKey(message.tenantId, endpointId, message.id)),
        ],
        [
          encodeMessage(message),
          retentionMs,
          message.eventType,
          message.createdAt,
          lease?.count ?? 0,
          lease?.ms ?? 0,
          message.id,
          ...endpointIds,
        ],
      )) as number[];
      for (const position of positions) {
        if (position > 0) created.pending.push(endpointIds[position - 1]!);
        else created.leased.push(endpointIds[-position - 1]!);
      }
      return created;
    },

    async getMessage(tenantId, messageId) {
      const text = await redis.get(`${base(tenantId)}msg:${messageId}`);
      return text === null ? undefined : decodeMessage(tenantId, messageId, text);
    },

    async getDelivery(tenantId, endpointId, messageId) {
      return toDelivery(
        tenantId,
        endpointId,
        messageId,
        await redis.hgetall(deliveryKey(tenantId, endpointId, messageId)),
      );
    },

    async beginAttempt(job, { now, leaseMs }): Promise<AttemptStart> {
      const { tenantId, endpointId, messageId } = job;
      const heldKey = deliveryKey(tenantId, endpointId, messageId);
      const slotKey = slotsKey(tenantId, endpointId);
      const [deliveryFields, endpoint, message, slot, held] = (await run(
        'beginAttempt',
        [
          heldKey,
          endpointKey(tenantId, endpointId),
          `${base(tenantId)}msg:${messageId}`,
          slotKey,
          leasesKey(tenantId),
        ],
        [job.trigger, now, job.id, leaseMs, `${endpointId}:${messageId}`],
      )) as [string[], string[], string | null, number, number];
      if (slot > 0) waiters.waiting(job.id, held === 1 ? heldKey : slotKey);
      const delivery = hashOf(deliveryFields);
      return {
        delivery: toDelivery(tenantId, endpointId, messageId, delivery),
        endpoint: toEndpoint(tenantId, endpointId, hashOf(endpoint)),
        message: message === null ? undefined : decodeMessage(tenantId, messageId, message),
        ...(slot >= 0 ? { slotWait: slot } : {}),
        ...(slot >= 0 && delivery.resend !== undefined ? { resend: delivery.resend } : {}),
      };
    },

    async recordAttempt(input: RecordAttemptInput): Promise<RecordAttemptResult> {
      const { attempt } = input;
      const tenant = base(attempt.tenantId);
      const heldKey = deliveryKey(attempt.tenantId, attempt.endpointId, attempt.messageId);
      const slotKey = slotsKey(attempt.tenantId, attempt.endpointId);
      const [reason, since, slotFreed, holdFreed] = (await run(
        'recordAttempt',
        [
          endpointKey(attempt.tenantId, attempt.endpointId),
          heldKey,
          `${tenant}log:${attempt.endpointId}`,
          `${tenant}logdata:${attempt.endpointId}`,
          `${tenant}failed:${attempt.endpointId}`,
          `${tenant}failed`,
          slotKey,
          leasesKey(attempt.tenantId),
          `${tenant}msg:${attempt.messageId}`,
          ...(isBoundedTest(input) ? [`${tenant}logtests:${attempt.endpointId}`] : []),
        ],
        recordAttemptArgs(input),
      )) as [string, string, number, number];
      // Only what the holder still held wakes a waiter: a slot or hold that ran out and was taken
      // by another is released by that one (a wake now would find it taken, and lose its place).
      if (slotFreed === 1) waiters.release(slotKey, 'one', input.releaseSlot);
      if (holdFreed === 1) waiters.release(heldKey, 'all');
      if (!reason) return {};
      return {
        disabled: {
          reason: reason as EndpointDisabledReason,
          message: input.health?.message ?? '',
          ...(since ? { failingSince: Number(since) } : {}),
        },
      };
    },

    async listAttempts(tenantId, endpointId, query) {
      const tenant = base(tenantId);
      const [ids, rows] = (await run(
        'listAttempts',
        [`${tenant}log:${endpointId}`, `${tenant}logdata:${endpointId}`],
        [...range(query), query.limit],
      )) as [string[], (string | null)[]];
      const attempts: WebhookAttempt[] = [];
      ids.forEach((id, index) => {
        const row = rows[index];
        if (row != null) attempts.push(decodeAttempt(tenantId, endpointId, id, row));
      });
      return attempts;
    },

    async listFailedDeliveries(tenantId, query) {
      const tenant = base(tenantId);
      const key =
        query.endpointId === undefined ? `${tenant}failed` : `${tenant}failed:${query.endpointId}`;
      const deliveries: WebhookDelivery[] = [];
      let cursor: ListQuery = query;
      // Expired entries the script left out (and took off the list) would make the page short,
      // which reads as the list's end: read on after the last delivery kept, until it is full or
      // a read leaves nothing out. Each entry is left out once, so this ends.
      for (;;) {
        const want = query.limit - deliveries.length;
        const [rows, dropped, lastScore] = (await run(
          'listFailed',
          [key],
          [
            ...range(cursor),
            want,
            tenant,
            query.endpointId ?? '',
            query.messagesSince === undefined ? '' : String(query.messagesSince),
          ],
        )) as [[string, string, string[]][], number, string];
        for (const [endpointId, messageId, flat] of rows) {
          const delivery = toDelivery(tenantId, endpointId, messageId, hashOf(flat));
          if (delivery?.status === 'failed') deliveries.push(delivery);
        }
        const last = rows[rows.length - 1];
        if (dropped === 0 || deliveries.length >= query.limit) return deliveries;
        // On from the last entry read (when every entry read was left out, they are off the
        // list now: the same cursor reads on).
        if (last) {
          cursor = { ...query, before: Number(lastScore), beforeKey: `${last[0]}:${last[1]}` };
        }
      }
    },

    enqueue,

    async claimRecoveries(tenantId, endpointId, deliveries) {
      if (deliveries.length === 0) return [];
      const positions = (await run(
        'claimRecoveries',
        deliveries.map(({ messageId }) => deliveryKey(tenantId, endpointId, messageId)),
        deliveries.map(({ attempts }) => String(attempts)),
      )) as number[];
      return positions.map((position) => deliveries[position - 1]!.messageId);
    },

    startWorker(handler: DeliveryJobHandler, workerOptions: DeliveryWorkerOptions) {
      if (worker) return;
      const { clock } = workerOptions;
      // The queue is made now, while Redis is there: made at the first enqueue during an
      // outage, BullMQ waits for it to be ready (for ever), and so would close().
      getQueue();
      // BullMQ's worker waits on blocking commands (BZPOPMIN, seconds long) and wants its
      // commands kept across a reconnect: the client's own fail-fast options (`commandTimeout`,
      // no offline queue; the scaling guide's outage settings) would cut every wait short.
      workerConnection = redis.duplicate({
        maxRetriesPerRequest: null,
        commandTimeout: undefined,
        enableOfflineQueue: true,
      });
      worker = new Worker<QueuedJobData>(
        queueName,
        async (job, token) => {
          const jobId = job.id!;
          const [tenantId, endpointId, messageId] = job.data;
          const trigger = job.name as DeliveryJob['trigger'];
          // A release in this process of what the job waits for promotes it (once delayed).
          let released = false;
          let delayed = false;
          const promote = (): void => {
            // Not delayed any more (its delay ran out, another process runs it): nothing to do.
            job.promote().catch(() => {});
          };
          waiters.started(jobId);
          let wait: number;
          for (;;) {
            let outcome: DeliveryJobOutcome;
            try {
              outcome = await handler({ id: jobId, tenantId, endpointId, messageId, trigger });
            } catch {
              // The store or Redis failed mid-job: try again shortly, never drop the job.
              waiters.ended(jobId);
              wait = 1000;
              break;
            }
            if (outcome.type === 'done') {
              waiters.ended(jobId);
              return;
            }
            if (outcome.type === 'retry') {
              waiters.ended(jobId);
              // BullMQ's delay is only the wake-up (on real time); the handler checks the due
              // time on the dispatcher's clock when the job runs.
              wait = Math.max(0, outcome.at - clock.now());
              break;
            }
            wait = outcome.ms;
            const onRelease = (): void => {
              released = true;
              if (delayed) promote();
            };
            // Released here while it ran: it runs again now rather than after its deferral.
            if (waiters.deferred(jobId, onRelease, wait)) break;
          }
          await job.moveToDelayed(Date.now() + wait, token);
          delayed = true;
          if (released) promote();
          throw new DelayedError();
        },
        {
          connection: workerConnection,
          prefix: queuePrefix,
          concurrency: workerOptions.concurrency,
          lockDuration,
          stalledInterval,
          maxStalledCount: 100,
        },
      );
      worker.on('error', () => {});
      // Only if the stalled limit is ever hit: put the job back rather than lose the delivery.
      worker.on('failed', (job) => {
        job?.retry('failed').catch(() => {});
      });
      sweepTimer = setInterval(() => {
        if (sweeping) return;
        sweeping = true;
        // A failed sweep (Redis down) is tried again at the next interval; nothing is lost.
        sweepLeases()
          .catch(() => {})
          .finally(() => {
            sweeping = false;
          });
      }, stalledInterval);
      sweepTimer.unref();
      stopAdvance = clock.onAdvance?.(() => {
        void getQueue()
          .promoteJobs()
          .catch(() => {});
      });
    },

    stopWorker,

    async acquireSlot(tenantId, endpointId, holder, limit, leaseMs) {
      const slotKey = slotsKey(tenantId, endpointId);
      const wait = Number(await run('acquireSlot', [slotKey], [holder, limit, leaseMs]));
      if (wait > 0) waiters.waiting(holder, slotKey);
      return wait;
    },

    async releaseSlot(tenantId, endpointId, holder, messageId) {
      const slotKey = slotsKey(tenantId, endpointId);
      // As in recordAttempt: only what the holder still held wakes a waiter.
      let slotFreed: number;
      if (messageId === undefined) slotFreed = await redis.zrem(slotKey, holder);
      else {
        const heldKey = deliveryKey(tenantId, endpointId, messageId);
        let holdFreed: number;
        [slotFreed, holdFreed] = (await run('releaseSlot', [slotKey, heldKey], [holder])) as [
          number,
          number,
        ];
        if (holdFreed === 1) waiters.release(heldKey, 'all');
      }
      if (slotFreed === 1) waiters.release(slotKey, 'one', holder);
    },

    async takeRateToken(rateKey, perSecond, now, burst) {
      const interval = 1000 / perSecond;
      const burstMs =
        burst === undefined ? Math.max(1000, interval) : Math.max(1, burst) * interval;
      return Number(
        await run('takeRateToken', [`${prefix}:rate:${rateKey}`], [now, interval, burstMs]),
      );
    },

    async saveCursors(cursors) {
      if (Object.keys(cursors).length > 0) await redis.hset(cursorsKey, cursors);
    },

    async loadCursors() {
      return await redis.hgetall(cursorsKey);
    },

    async loadCursor(tenantId) {
      return (await redis.hget(cursorsKey, tenantId)) ?? undefined;
    },

    async close() {
      await stopWorker();
      const closing = queue;
      queue = undefined;
      if (closing) await closing.close();
      queueConnection?.disconnect();
      queueConnection = undefined;
    },
  };
  // Redis refusing commands (out of memory, a replica after a failover…) is an outage: 503 with
  // Retry-After at the management API, reported once by the background loops. Nothing the store
  // rejects with carries the values it wrote (secrets, header values, event bodies).
  return catchRedisStoreErrors(redis, store, storeOperations);
}

/** What each method of the store does, for its failures' messages. */
const storeOperations: RedisStoreOperations<WebhookStore> = {
  createEndpoint: { operation: 'creating an endpoint', writes: true },
  getEndpoint: { operation: 'reading an endpoint', writes: false },
  listEndpoints: { operation: 'listing endpoints', writes: false },
  saveEndpointSettings: { operation: 'saving an endpoint', writes: true },
  setEndpointEnabled: { operation: 'enabling or disabling an endpoint', writes: true },
  deleteEndpoint: { operation: 'deleting an endpoint', writes: true },
  listTenants: { operation: 'listing tenants', writes: false },
  createDeliveries: { operation: 'creating deliveries', writes: true },
  getMessage: { operation: 'reading a message', writes: false },
  getDelivery: { operation: 'reading a delivery', writes: false },
  beginAttempt: { operation: 'beginning a delivery attempt', writes: true },
  recordAttempt: { operation: 'recording a delivery attempt', writes: true },
  listAttempts: { operation: 'listing attempts', writes: false },
  listFailedDeliveries: { operation: 'listing failed deliveries', writes: false },
  enqueue: { operation: 'queueing deliveries', writes: true },
  claimRecoveries: { operation: 'claiming recoveries', writes: true },
  startWorker: { operation: 'starting the delivery worker', writes: false },
  stopWorker: { operation: 'stopping the delivery worker', writes: false },
  acquireSlot: { operation: 'taking a concurrency slot', writes: true },
  releaseSlot: { operation: 'releasing a concurrency slot', writes: true },
  takeRateToken: { operation: 'taking a rate token', writes: true },
  saveCursors: { operation: 'saving bus cursors', writes: true },
  loadCursors: { operation: 'loading bus cursors', writes: false },
  loadCursor: { operation: 'loading a bus cursor', writes: false },
  close: { operation: 'closing the store', writes: false },
};
