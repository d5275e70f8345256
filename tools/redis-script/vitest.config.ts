import { defineProject } from 'vitest/config';

export default defineProject({
  test: { name: '@calltrack/redis-script', environment: 'node' },
});
