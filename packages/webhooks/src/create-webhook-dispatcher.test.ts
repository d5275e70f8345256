import { describeDispatcher } from './__tests__/describe-dispatcher';
import { createMemoryWebhookStore } from './create-memory-webhook-store';

describeDispatcher('the memory store', async () => {
  const store = createMemoryWebhookStore();
  return { store, dispose: () => store.close() };
});
