import { afterEach, describe, it } from 'vitest';
import { createMemoryLeadStore } from './create-memory-lead-store';
import { describeLeadStore } from './describe-lead-store';

describeLeadStore(
  { describe, it, afterEach },
  {
    name: 'memory',
    createStore: async () => ({ store: createMemoryLeadStore(), dispose: async () => {} }),
  },
);
