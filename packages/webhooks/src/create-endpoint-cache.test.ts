import { createMemoryBus } from '@calltrack/bus';
import { makeCallEvent, startWebhookReceiver } from '@calltrack/test-utils';
import { afterEach, describe, expect, it } from 'vitest';
import { createMemoryWebhookStore } from './create-memory-webhook-store';
import { createWebhookDispatcher } from './create-webhook-dispatcher';

const cleanups: (() => Promise<void>)[] = [];

afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/**
 * Two dispatchers on one store and bus stand for two processes: `api` serves the management
 * API only, `worker` follows the bus and delivers with the given `endpointCacheMs`. Returns
 * whether the worker's fan-out gave an event to an endpoint the API created after the worker
 * had cached the tenant's endpoints.
 */
async function seesEndpointCreatedElsewhere(endpointCacheMs: number): Promise<boolean> {
  const receiver = await startWebhookReceiver();
  const bus = createMemoryBus();
  const store = createMemoryWebhookStore();
  const options = { bus, store, allowHttp: true, allowedCidrs: ['127.0.0.0/8'] };
  const api = createWebhookDispatcher(options);
  const worker = createWebhookDispatcher({ ...options, endpointCacheMs });
  cleanups.push(
    () => receiver.close(),
    () => bus.close(),
    () => store.close(),
    () => api.close(),
    () => worker.close(),
  );
  await worker.start();
  await api.createEndpoint('acme', { url: `${receiver.url}/first` });
  const publish = () =>
    bus.publish(makeCallEvent({ tenantId: 'acme', type: 'call.ended', status: 'completed' }));
  await publish();
  await receiver.waitFor(1, { path: '/first' }); // the worker has read (and cached) the list
  const { endpoint: second } = await api.createEndpoint('acme', { url: `${receiver.url}/second` });
  await publish();
  const [, request] = await receiver.waitFor(2, { path: '/first' });
  // Both endpoints' deliveries of an event are created in one step: this one's is decided.
  const messageId = request!.headers['webhook-id']!;
  return (await store.getDelivery('acme', second.id, messageId)) !== undefined;
}

describe('the endpoint cache across processes', () => {
  it('matches an endpoint created in another process only once its copy expires', async () => {
    // As the README says: events fanned out within endpointCacheMs of the change are not owed.
    expect(await seesEndpointCreatedElsewhere(60_000)).toBe(false);
  });

  it('matches it at once with endpointCacheMs 0 (the list is read for every event)', async () => {
    expect(await seesEndpointCreatedElsewhere(0)).toBe(true);
  });
});
