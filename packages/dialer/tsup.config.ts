import { defineConfig } from 'tsup';

export default defineConfig({
  entry: ['src/index.ts', 'src/redis.ts', 'src/postgres.ts', 'src/testing.ts', 'src/socket-io.ts'],
  format: ['esm', 'cjs'],
  dts: true,
  sourcemap: true,
  clean: true,
  target: 'node20',
  // Internal, never published: bundled into this package.
  noExternal: ['@calltrack/redis-script'],
});
