import { defineProject } from 'vitest/config';

export default defineProject({
  resolve: { conditions: ['@calltrack/source'] },
  ssr: { resolve: { conditions: ['@calltrack/source'] } },
  test: {
    name: '@calltrack/dialer',
    environment: 'node',
    // Test files run one after another in one worker that keeps its modules, not in a fresh
    // process each (which spent about a third of this project's time importing them again):
    // sound while no file mocks a module or stubs a global (scripts/shared-test-modules.test.ts).
    isolate: false,
    // Tests that make hundreds of PostgreSQL or Redis round trips (the reconciler past 500
    // attempts, runs read over HTTP on two processes) take 1.5–3 s idle and over 5 s on two
    // loaded cores: vitest's 5 s default failed them there.
    testTimeout: 30_000,
  },
});
