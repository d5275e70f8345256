import { defineProject } from 'vitest/config';

export default defineProject({
  resolve: { conditions: ['@calltrack/source'] },
  ssr: { resolve: { conditions: ['@calltrack/source'] } },
  test: {
    name: '@calltrack/example-express',
    environment: 'node',
    // The browser tests follow calls through their lifecycle for a few seconds each.
    testTimeout: 30_000,
    hookTimeout: 30_000,
  },
});
