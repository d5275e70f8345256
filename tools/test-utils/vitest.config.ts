import { defineProject } from 'vitest/config';

export default defineProject({
  test: { name: '@calltrack/test-utils', environment: 'node' },
});
