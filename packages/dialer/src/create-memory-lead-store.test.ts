import { createMemoryLeadStore } from './create-memory-lead-store';
import { describeLeadStore } from './describe-lead-store';

describeLeadStore({
  name: 'memory',
  createStore: async () => ({ store: createMemoryLeadStore(), dispose: async () => {} }),
});
