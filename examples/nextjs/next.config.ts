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
  // `next dev` answers its own scripts and hot-reload socket only to pages opened on localhost;
  // a page opened on any other host stays on 'Connecting…'. 127.0.0.1 is allowed here, and more
  // hosts (a LAN address to test from a phone) through ALLOWED_DEV_ORIGINS=host1,host2.
  allowedDevOrigins: [
    '127.0.0.1',
    ...(process.env.ALLOWED_DEV_ORIGINS ?? '')
      .split(',')
      .map((host) => host.trim())
      .filter(Boolean),
  ],
};

export default nextConfig;
