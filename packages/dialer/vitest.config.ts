import { defineProject } from 'vitest/config';

export default defineProject({
  resolve: { conditions: ['@calltrack/source'] },
  ssr: { resolve: { conditions: ['@calltrack/source'] } },
  test: {
    name: '@calltrack/dialer',
    environment: 'node',
    // Tests that make hundreds of PostgreSQL or Redis round trips (the reconciler past 500
    // attempts, runs read over HTTP on two processes) take 1.5–3 s idle and over 5 s on two
    // loaded cores: vitest's 5 s default failed them there.
    testTimeout: 30_000,
  },
});
