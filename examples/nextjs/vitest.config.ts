import { defineProject } from 'vitest/config';

export default defineProject({
  // The tests run in Node (the simulator, the HTTP checks) and drive the built app in Chromium;
  // the app itself is the `next build` output, bundled from the packages' dist like any consumer.
  resolve: { conditions: ['@calltrack/source'] },
  ssr: { resolve: { conditions: ['@calltrack/source'] } },
  test: {
    name: '@calltrack/example-nextjs',
    environment: 'node',
    include: ['test/**/*.test.ts'],
    // Runs `next build` when `.next` is missing (it takes about half a minute on two cores).
    globalSetup: ['test/global-setup.ts'],
    hookTimeout: 60_000,
    testTimeout: 30_000,
  },
});
