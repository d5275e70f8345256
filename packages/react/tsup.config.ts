import { defineConfig } from 'tsup';

export default defineConfig({
  entry: ['src/index.ts'],
  format: ['esm', 'cjs'],
  dts: true,
  sourcemap: true,
  clean: true,
  target: 'es2022',
  // The hooks are client components' code: keep the directive on the bundles (Next.js RSC).
  banner: { js: "'use client';" },
});
