import { createMemoryWebhookStore } from './create-memory-webhook-store';
import { describeWebhookStore } from './describe-webhook-store';

describeWebhookStore({
  name: 'memory',
  createStore: async () => {
    const store = createMemoryWebhookStore();
    return { store, dispose: () => store.close() };
  },
});
