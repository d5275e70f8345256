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
    // Building the app when `.next` is missing takes a while on two cores.
    hookTimeout: 300_000,
    testTimeout: 30_000,
  },
});
