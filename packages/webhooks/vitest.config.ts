import { defineProject } from 'vitest/config';

export default defineProject({
  resolve: { conditions: ['@calltrack/source'] },
  ssr: { resolve: { conditions: ['@calltrack/source'] } },
  test: { name: '@calltrack/webhooks', environment: 'node', testTimeout: 30_000 },
});
