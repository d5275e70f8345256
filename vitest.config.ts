import { defineConfig } from 'vitest/config';

// One project per package; siblings resolve to their TypeScript source through the
// `@calltrack/source` export condition, so tests never need a build first.
export default defineConfig({
  test: {
    projects: ['packages/*', 'examples/*', 'tools/test-utils'],
  },
});
