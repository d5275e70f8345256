import type { StoredEndpoint } from './webhook-endpoint';
import type { WebhookStore } from './webhook-store';

/** Fan-out's copy of each tenant's endpoints, so a burst of events reads them once. */
export interface EndpointCache {
  /** The tenant's endpoints: the copy read less than `cacheMs` ago, else a fresh read. */
  endpointsOf(tenantId: string): Promise<StoredEndpoint[]>;
  /**
   * Drops the tenant's copy: its endpoints changed (created, updated, deleted, disabled). In this
   * process only: another process's copy lasts until it expires.
   */
  forget(tenantId: string): void;
}

/** Most tenants kept; past it the oldest copy goes. */
const maxTenants = 10_000;

/**
 * Creates an {@link EndpointCache} over the store. Copies age in real time; a read that fails is
 * not kept.
 */
export function createEndpointCache(
  store: Pick<WebhookStore, 'listEndpoints'>,
  cacheMs: number,
): EndpointCache {
  const cache = new Map<string, { at: number; endpoints: Promise<StoredEndpoint[]> }>();
  return {
    endpointsOf(tenantId) {
      const now = Date.now();
      const cached = cache.get(tenantId);
      if (cached && now - cached.at < cacheMs) return cached.endpoints;
      const loading = store.listEndpoints(tenantId);
      cache.set(tenantId, { at: now, endpoints: loading });
      loading.catch(() => cache.delete(tenantId));
      if (cache.size > maxTenants) cache.delete(cache.keys().next().value!);
      return loading;
    },
    forget(tenantId) {
      cache.delete(tenantId);
    },
  };
}
