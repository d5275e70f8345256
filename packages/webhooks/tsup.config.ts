import { readFileSync } from 'node:fs';
import { defineConfig } from 'tsup';

const { version } = JSON.parse(readFileSync(new URL('./package.json', import.meta.url), 'utf8'));

export default defineConfig({
  entry: ['src/index.ts', 'src/redis.ts', 'src/testing.ts'],
  format: ['esm', 'cjs'],
  dts: true,
  sourcemap: true,
  clean: true,
  target: 'node20',
  // The version goes into the User-Agent of every delivery.
  define: { __CALLTRACK_WEBHOOKS_VERSION__: JSON.stringify(version) },
  // Internal, never published: bundled into this package.
  noExternal: ['@calltrack/redis-script'],
});
