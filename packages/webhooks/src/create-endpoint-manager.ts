import { randomBytes } from 'node:crypto';
import type { EventBus } from '@calltrack/bus';
import { CallTrackError } from '@calltrack/core';
import { EndpointQuotaExceededError } from './errors/endpoint-quota-exceeded-error';
import { InvalidEndpointError } from './errors/invalid-endpoint-error';
import { checkTenantId, loadEndpoint } from './load-endpoint';
import { type EndpointInputPolicy, parseEndpointInput } from './parse-endpoint-input';
import type { WebhookClock } from './webhook-clock';
import type { WebhookDispatcher } from './webhook-dispatcher';
import { type StoredEndpoint, toWebhookEndpoint } from './webhook-endpoint';
import { generateWebhookSecret } from './webhook-secret';
import type { WebhookStore } from './webhook-store';

/** What the endpoint methods need from the dispatcher. */
export interface EndpointManagerContext {
  store: WebhookStore;
  /** Where a tenant's first endpoint starts reading (`position`, where the bus has it). */
  bus: Pick<EventBus, 'position'>;
  clock: WebhookClock;
  /** What endpoint input may say (URLs, event types). */
  policy: EndpointInputPolicy;
  /** The tenant's endpoints changed: drop the copy fan-out cached. */
  forgetEndpoints: (tenantId: string) => void;
  maxEndpointsPerTenant: number;
  /** An endpoint's `maxConcurrency` when it sets none. */
  defaultEndpointConcurrency: number;
  /** How long a rotated-out secret keeps signing when the rotation does not say. */
  secretGracePeriodMs: number;
}

/** The dispatcher's endpoint methods. */
export type EndpointManager = Pick<
  WebhookDispatcher,
  | 'createEndpoint'
  | 'listEndpoints'
  | 'getEndpoint'
  | 'updateEndpoint'
  | 'deleteEndpoint'
  | 'rotateSecret'
>;

const day = 24 * 3_600_000;
const maxGracePeriodMs = 7 * day;
const maxOldSecrets = 10;
/** Most times a settings change is read and written again when others kept changing them. */
const maxSettingsWrites = 10;

/** The settings of an endpoint, as `saveEndpointSettings` writes and compares them. */
const settingsOf = (endpoint: StoredEndpoint) => ({
  tenantId: endpoint.tenantId,
  id: endpoint.id,
  url: endpoint.url,
  description: endpoint.description,
  events: endpoint.events,
  headers: endpoint.headers,
  rateLimitPerSecond: endpoint.rateLimitPerSecond,
  maxConcurrency: endpoint.maxConcurrency,
  secrets: endpoint.secrets,
  updatedAt: endpoint.updatedAt,
});

/**
 * Creates the endpoint methods: create, list, get, update, delete and rotate a secret, each
 * scoped by the tenant given. Every change drops fan-out's cached endpoints of the tenant.
 */
export function createEndpointManager(context: EndpointManagerContext): EndpointManager {
  const { store, bus, clock, policy, forgetEndpoints } = context;
  const load = (tenantId: string, endpointId: string) => loadEndpoint(store, tenantId, endpointId);

  const createEndpoint: EndpointManager['createEndpoint'] = async (tenantId, input) => {
    checkTenantId(tenantId);
    const parsed = parseEndpointInput(input, 'create', policy);
    const now = clock.now();
    const secret = generateWebhookSecret();
    const endpoint: StoredEndpoint = {
      id: `ep_${randomBytes(18).toString('base64url')}`,
      tenantId,
      url: parsed.url!,
      description: parsed.description ?? '',
      events: parsed.events ?? ['*'],
      headers: parsed.headers ?? {},
      rateLimitPerSecond: parsed.rateLimitPerSecond ?? null,
      maxConcurrency: parsed.maxConcurrency ?? context.defaultEndpointConcurrency,
      secrets: [{ secret }],
      createdAt: now,
      updatedAt: now,
      enabled: parsed.enabled ?? true,
      consecutiveFailures: 0,
      ...(parsed.enabled === false
        ? {
            disabledAt: now,
            disabledReason: 'manual' as const,
            disabledMessage: 'Created disabled.',
          }
        : {}),
    };
    // Taken before the endpoint exists, so nothing published once it does can fall before it.
    const start = await startingCursor(tenantId);
    try {
      await store.createEndpoint(endpoint, context.maxEndpointsPerTenant);
      if (start !== undefined) await store.saveCursors({ [tenantId]: start });
    } catch (error) {
      if (!EndpointQuotaExceededError.isInstance(error)) await takeBack(endpoint);
      throw error;
    } finally {
      forgetEndpoints(tenantId);
    }
    return { endpoint: toWebhookEndpoint(endpoint), secret };
  };

  /**
   * Deletes an endpoint whose creation failed after a step that may have written it (a store
   * writes an endpoint and its indexes in several steps; its starting cursor is one more): it
   * would be live with a secret nobody was given, and the caller's retry would make a second
   * one. The id is this call's own, so nothing else is touched; where the endpoint was never
   * written, the delete finds nothing (and drops the tenant's entry a first step may have left).
   * Deleting goes through while Redis is out of memory (deletes free memory); if it fails too
   * (Redis unreachable), the endpoint stays, as a refused write's message says may happen.
   */
  const takeBack = async (endpoint: StoredEndpoint): Promise<void> => {
    await store.deleteEndpoint(endpoint.tenantId, endpoint.id).catch(() => {});
  };

  /**
   * Where a tenant's events start for delivery, when it has no saved cursor yet (its first
   * endpoint): the bus's position now. The follower saves a tenant's cursor only once it handled
   * one of its events, so without this, events published while no dispatcher ran, before the
   * tenant's first live event, were never caught up. Undefined for a bus without `position`.
   */
  const startingCursor = async (tenantId: string): Promise<string | undefined> => {
    if (bus.position === undefined) return undefined;
    // One tenant's cursor where the store can read just that (a store of your own may not).
    const hasCursor = store.loadCursor
      ? (await store.loadCursor(tenantId)) !== undefined
      : Object.hasOwn(await store.loadCursors(), tenantId);
    if (hasCursor) return undefined;
    return bus.position(tenantId);
  };

  /**
   * Changes an endpoint's settings: reads them, applies `change`, and writes the result only if
   * nobody changed them meanwhile, else reads again. An update and a rotation racing on two
   * processes would otherwise each write over the other: a rotation's new secret, already handed
   * out, could be undone by an update that read before it.
   */
  const changeSettings = async (
    tenantId: string,
    endpointId: string,
    change: (current: StoredEndpoint, now: number) => StoredEndpoint,
  ): Promise<{ current: StoredEndpoint; next: StoredEndpoint }> => {
    for (let attempt = 1; ; attempt += 1) {
      const current = await load(tenantId, endpointId);
      const next = change(current, clock.now());
      if (await store.saveEndpointSettings(settingsOf(next), settingsOf(current))) {
        return { current, next };
      }
      if (attempt === maxSettingsWrites) {
        throw new CallTrackError({
          message: 'The webhook endpoint kept changing while it was being saved; try again.',
          code: 'conflict',
          status: 409,
        });
      }
    }
  };

  const updateEndpoint: EndpointManager['updateEndpoint'] = async (tenantId, endpointId, input) => {
    checkTenantId(tenantId);
    const parsed = parseEndpointInput(input, 'update', policy);
    const { current, next } = await changeSettings(tenantId, endpointId, (endpoint, now) => ({
      ...endpoint,
      ...(parsed.url === undefined ? {} : { url: parsed.url }),
      ...(parsed.description === undefined ? {} : { description: parsed.description }),
      ...(parsed.events === undefined ? {} : { events: parsed.events }),
      ...(parsed.headers === undefined ? {} : { headers: parsed.headers }),
      ...(parsed.rateLimitPerSecond === undefined
        ? {}
        : { rateLimitPerSecond: parsed.rateLimitPerSecond }),
      ...(parsed.maxConcurrency === undefined ? {} : { maxConcurrency: parsed.maxConcurrency }),
      updatedAt: now,
    }));
    if (parsed.enabled !== undefined && parsed.enabled !== current.enabled) {
      await store.setEndpointEnabled(tenantId, endpointId, parsed.enabled, next.updatedAt);
    }
    forgetEndpoints(tenantId);
    return toWebhookEndpoint((await store.getEndpoint(tenantId, endpointId)) ?? next);
  };

  const rotateSecret: EndpointManager['rotateSecret'] = async (
    tenantId,
    endpointId,
    rotation = {},
  ) => {
    checkTenantId(tenantId);
    const grace = rotation.gracePeriodMs ?? context.secretGracePeriodMs;
    if (!Number.isInteger(grace) || grace < 0 || grace > maxGracePeriodMs) {
      throw new InvalidEndpointError({
        message: 'gracePeriodSeconds: must be a whole number from 0 to 604,800 (7 days).',
      });
    }
    // Made once: the secret handed out is the one saved, whatever the retries.
    const secret = generateWebhookSecret();
    const { next } = await changeSettings(tenantId, endpointId, (endpoint, now) => {
      const old = endpoint.secrets
        .map((entry) => ({
          secret: entry.secret,
          expiresAt: Math.min(entry.expiresAt ?? now + grace, now + grace),
        }))
        .filter((entry) => entry.expiresAt > now)
        .slice(0, maxOldSecrets);
      return { ...endpoint, secrets: [{ secret }, ...old], updatedAt: now };
    });
    return { endpoint: toWebhookEndpoint(next), secret };
  };

  return {
    createEndpoint,
    listEndpoints: async (tenantId) => {
      checkTenantId(tenantId);
      return (await store.listEndpoints(tenantId)).map(toWebhookEndpoint);
    },
    getEndpoint: async (tenantId, endpointId) =>
      toWebhookEndpoint(await load(tenantId, endpointId)),
    updateEndpoint,
    deleteEndpoint: async (tenantId, endpointId) => {
      await load(tenantId, endpointId);
      await store.deleteEndpoint(tenantId, endpointId);
      forgetEndpoints(tenantId);
    },
    rotateSecret,
  };
}
