import { afterEach, describe, it } from 'vitest';
import { createMemoryWebhookStore } from './create-memory-webhook-store';
import { describeWebhookStore } from './describe-webhook-store';

describeWebhookStore(
  { describe, it, afterEach },
  {
    name: 'memory',
    createStore: async () => {
      const store = createMemoryWebhookStore();
      return { store, dispose: () => store.close() };
    },
  },
);
