import { afterEach, describe, it } from 'vitest';
import { createMemoryPresenceStore } from './create-memory-presence-store';
import { describePresenceStore } from './testing';

describePresenceStore({ describe, it, afterEach }, 'memory', async () => ({
  store: createMemoryPresenceStore(),
}));
