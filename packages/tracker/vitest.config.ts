import { defineProject } from 'vitest/config';

export default defineProject({
  resolve: { conditions: ['@calltrack/source'] },
  ssr: { resolve: { conditions: ['@calltrack/source'] } },
  test: {
    name: '@calltrack/tracker',
    environment: 'node',
    // The property tests (hundreds of runs) and the thousand-call maintenance tests take 1.5 s on
    // an idle machine and 4.5–7 s on two loaded cores: vitest's 5 s default failed them there.
    testTimeout: 30_000,
  },
});
