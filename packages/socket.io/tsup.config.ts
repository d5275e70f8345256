import { defineConfig } from 'tsup';

export default defineConfig({
  // `internal` is for calltrack's own code (the dialer, the bench), outside semver.
  entry: ['src/index.ts', 'src/internal.ts'],
  format: ['esm', 'cjs'],
  dts: true,
  sourcemap: true,
  clean: true,
  target: 'node20',
});
