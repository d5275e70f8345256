import { defineConfig } from 'tsup';

export default defineConfig({
  entry: ['src/index.ts', 'src/node.ts', 'src/internal.ts'],
  format: ['esm', 'cjs'],
  dts: true,
  sourcemap: true,
  clean: true,
  target: 'node20',
  // Bundled so the CommonJS build works on every Node 20 (the library is ESM-only).
  noExternal: ['@remix-run/node-fetch-server'],
});
