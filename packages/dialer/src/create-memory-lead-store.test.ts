import { afterEach, describe, it } from 'vitest';
import { checkUnrecordableCallAnswers } from './__tests__/unrecordable-call-answer';
import { createMemoryLeadStore, removeMemoryLead } from './create-memory-lead-store';
import { describeLeadStore } from './describe-lead-store';

describeLeadStore(
  { describe, it, afterEach },
  {
    name: 'memory',
    createStore: async () => ({ store: createMemoryLeadStore() }),
    removeLead: async (store, tenantId, leadId) => removeMemoryLead(store, tenantId, leadId),
  },
);

describe('createMemoryLeadStore under the dialer', () => {
  it('takes a placeCall answer with a call id no store can keep as ambiguous: unknown, never dialled again, settled by webhooks or the reconciler', async () => {
    await checkUnrecordableCallAnswers(createMemoryLeadStore(), 'acme');
  });
});
