import { defineProject } from 'vitest/config';

export default defineProject({
  resolve: { conditions: ['@calltrack/source'] },
  ssr: { resolve: { conditions: ['@calltrack/source'] } },
  test: {
    name: '@calltrack/presence',
    environment: 'node',
    // Test files run one after another in one worker that keeps its modules, not in a fresh
    // process each (which spent about a third of this project's time importing them again):
    // sound while no file mocks a module or stubs a global (scripts/shared-test-modules.test.ts).
    isolate: false,
  },
});
