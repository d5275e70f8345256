import { defineConfig } from 'vitest/config';

// One project per package; siblings resolve to their TypeScript source through the
// `@calltrack/source` export condition, so tests never need a build first.
export default defineConfig({
  test: {
    projects: [
      'packages/*',
      'examples/*',
      'tools/test-utils',
      'tools/redis-script',
      // What each package entry exports (scripts/public-exports.test.ts), from source.
      {
        resolve: { conditions: ['@calltrack/source'] },
        ssr: { resolve: { conditions: ['@calltrack/source'] } },
        test: { name: 'public-exports', include: ['scripts/*.test.ts'], environment: 'node' },
      },
    ],
  },
});
