import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { NextConfig } from 'next';

// npm workspaces install every dependency (and link the @calltrack packages) at the monorepo
// root, so that is where Turbopack resolves from and where output file tracing starts.
const monorepoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

const nextConfig: NextConfig = {
  turbopack: { root: monorepoRoot },
  outputFileTracingRoot: monorepoRoot,
  // ioredis is loaded from node_modules at runtime rather than bundled into the route handlers.
  serverExternalPackages: ['ioredis'],
  poweredByHeader: false,
};

export default nextConfig;
