// Packs every public package and installs the tarballs into a fresh app outside the repo, then
// checks there that `import` and `require` of every entry work and that TypeScript resolves their
// types (module node16, both from ESM and CommonJS files), that core and the React hooks bundle
// for the browser, that each transport installs and typechecks without the tracker, and that the
// root entries of presence, webhooks and the dialer load without their backends' optional peers.
// Run after `npm run build`.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  installApp,
  packPublicPackages,
  publicPackages,
  root,
  run,
  typecheck,
} from './pack-public-packages.mjs';

const scratch = mkdtempSync(join(tmpdir(), 'calltrack-tarballs-'));
const app = join(scratch, 'all');
const packages = publicPackages();

try {
  const tarballs = packPublicPackages();
  installApp(app, [
    ...tarballs.values(),
    // What an app using every entry has: the optional peers those entries import (BullMQ for
    // webhooks/redis, pg for dialer/postgres…), its Redis client, Node's and React's types.
    ...optionalPeers(packages).filter((peer) => !peer.startsWith('ioredis@')),
    'ioredis@5',
    '@types/node@20',
    '@types/react@19',
  ]);

  const entries = packages.flatMap(({ manifest }) =>
    Object.keys(manifest.exports)
      .filter((key) => key !== './package.json')
      .map((key) => (key === '.' ? manifest.name : `${manifest.name}/${key.slice(2)}`)),
  );
  const identifier = (entry) => entry.replace(/[^a-zA-Z0-9]/g, '_');

  writeFileSync(
    join(app, 'check.mjs'),
    `${entries.map((entry) => `import * as ${identifier(entry)} from '${entry}';`).join('\n')}
const loaded = { ${entries.map((entry) => `'${entry}': ${identifier(entry)}`).join(', ')} };
for (const [entry, module] of Object.entries(loaded)) {
  if (Object.keys(module).length === 0) throw new Error('import of ' + entry + ' exports nothing');
}
console.log('import ok:', Object.keys(loaded).length, 'entries');
`,
  );
  writeFileSync(
    join(app, 'check.cjs'),
    `const entries = ${JSON.stringify(entries)};
for (const entry of entries) {
  const module = require(entry);
  if (Object.keys(module).length === 0) throw new Error('require of ' + entry + ' exports nothing');
}
console.log('require ok:', entries.length, 'entries');
`,
  );
  run(process.execPath, ['check.mjs'], app);
  run(process.execPath, ['check.cjs'], app);

  // Types: every export of every entry must resolve, from ESM and from CommonJS.
  mkdirSync(join(app, 'types'));
  const typeCheck = (from) =>
    `${entries.map((entry) => `import * as ${identifier(entry)} from '${entry}';`).join('\n')}
import type { CallEvent } from '@calltrack/core';
const event: CallEvent = ${identifier('@calltrack/core')}.parseCallEvent({});
export const used = [${entries.map(identifier).join(', ')}, event, '${from}'];
`;
  writeFileSync(join(app, 'types', 'esm.mts'), typeCheck('esm'));
  writeFileSync(join(app, 'types', 'cjs.cts'), typeCheck('cjs'));
  writeFileSync(
    join(app, 'tsconfig.json'),
    JSON.stringify({
      compilerOptions: {
        module: 'node16',
        moduleResolution: 'node16',
        target: 'es2022',
        strict: true,
        noEmit: true,
        skipLibCheck: false,
        types: ['node'],
      },
      include: ['types'],
    }),
  );
  const types = typecheck(app);
  if (!types.ok) throw new Error(`types of the installed tarballs do not check:\n${types.output}`);
  console.log(`types ok: ${entries.length} entries from ESM and CommonJS`);

  // Browser code imports core's vocabulary and the React hooks: bundling them for the browser
  // must not pull in Node built-ins (core keeps its Node bridge at `@calltrack/core/node`).
  writeFileSync(
    join(app, 'browser.mjs'),
    `import { callEventSchema, maskPhoneNumber } from '@calltrack/core';
import { createCallTrackClient, sseTransport, useActiveCalls } from '@calltrack/react';
export const used = [callEventSchema, maskPhoneNumber, createCallTrackClient, sseTransport, useActiveCalls];
`,
  );
  const { build } = await import(join(root, 'node_modules', 'esbuild', 'lib', 'main.js'));
  await build({
    entryPoints: [join(app, 'browser.mjs')],
    absWorkingDir: app,
    bundle: true,
    platform: 'browser',
    format: 'esm',
    external: ['react', 'react-dom'],
    write: false,
    logLevel: 'silent',
  });
  console.log('browser bundle ok: @calltrack/core and @calltrack/react without Node built-ins');

  checkMinimalInstalls(tarballs);
  console.log(`tarballs ok: ${packages.map(({ manifest }) => manifest.name).join(', ')}`);
} catch (error) {
  console.error(`check-tarballs: ${error instanceof Error ? error.message : String(error)}`);
  process.exitCode = 1;
} finally {
  rmSync(scratch, { recursive: true, force: true });
}

/**
 * The tracker is an optional peer of the transports (and no dependency of the React hooks): an
 * app that streams the bus without it must install and typecheck. Likewise the root entries of
 * presence, webhooks and the dialer need none of the optional peers (ioredis, BullMQ, pg) their
 * backend entries import. For each package, a fresh app
 * gets its tarball, the tarballs of its `@calltrack` dependencies, its required peers from the
 * registry and nothing else; a consumer importing it from ESM and CommonJS is typechecked with
 * `skipLibCheck: false` (so every `.d.ts` it reaches is checked) and imported at runtime.
 */
function checkMinimalInstalls(tarballs) {
  const consumers = {
    '@calltrack/sse': { peers: [] },
    '@calltrack/socket.io': { peers: ['socket.io@4'] },
    '@calltrack/trpc': { peers: ['@trpc/server@11'] },
    // The root entries of the packages whose backends need optional peers load without them.
    '@calltrack/presence': { peers: [] },
    '@calltrack/webhooks': { peers: [] },
    '@calltrack/dialer': { peers: [] },
    '@calltrack/react': {
      peers: ['react@19', '@types/react@19'],
      // The store and a transport, as a browser app uses them.
      use: `export const client = pkg.createCallTrackClient({ transport: pkg.sseTransport({ url: '/api/events' }) });`,
    },
  };
  const manifests = new Map(packages.map(({ manifest }) => [manifest.name, manifest]));
  const failures = [];
  for (const [name, consumer] of Object.entries(consumers)) {
    const directory = join(scratch, `without-tracker-${name.replace(/\W/g, '-')}`);
    const calltrackDependencies = closure(name, manifests);
    if (calltrackDependencies.has('@calltrack/tracker')) {
      failures.push(
        `${name}: depends on @calltrack/tracker (dependencies), not as an optional peer`,
      );
      continue;
    }
    installApp(directory, [
      ...[...calltrackDependencies].map((dependency) => tarballs.get(dependency)),
      ...consumer.peers,
      '@types/node@20',
    ]);
    const body = `import * as pkg from '${name}';
${consumer.use ?? ''}
export type Exports = typeof pkg;
export const names: string[] = Object.keys(pkg);
`;
    mkdirSync(join(directory, 'src'));
    writeFileSync(join(directory, 'src', 'esm.mts'), body);
    writeFileSync(join(directory, 'src', 'cjs.cts'), body);
    writeFileSync(
      join(directory, 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: {
          module: 'node16',
          moduleResolution: 'node16',
          target: 'es2022',
          lib: ['es2022', 'dom'],
          strict: true,
          noEmit: true,
          skipLibCheck: false,
          types: ['node'],
        },
        include: ['src'],
      }),
    );
    const types = typecheck(directory);
    if (!types.ok) {
      failures.push(`${name}: its types do not check installed alone:\n${indent(types.output)}`);
      continue;
    }
    try {
      run(process.execPath, ['--input-type=module', '-e', `await import('${name}')`], directory);
      run(process.execPath, ['-e', `require('${name}')`], directory);
    } catch {
      failures.push(`${name}: import or require fails installed alone`);
      continue;
    }
    console.log(`alone ok: ${name} installs, typechecks (skipLibCheck: false) and loads`);
  }
  if (failures.length > 0) {
    throw new Error(`packages that need more than they declare:\n${failures.join('\n')}`);
  }
}

/** `name@range` of every optional peer of the packages (one range per name). */
function optionalPeers(packages) {
  const found = new Map();
  for (const { manifest } of packages) {
    for (const [name, meta] of Object.entries(manifest.peerDependenciesMeta ?? {})) {
      if (meta.optional && !name.startsWith('@calltrack/') && !found.has(name)) {
        found.set(name, `${name}@${manifest.peerDependencies[name]}`);
      }
    }
  }
  return [...found.values()];
}

/** `name` and its `@calltrack` dependencies, transitively (peers excluded). */
function closure(name, manifests) {
  const found = new Set();
  const visit = (current) => {
    if (found.has(current)) return;
    found.add(current);
    for (const dependency of Object.keys(manifests.get(current)?.dependencies ?? {})) {
      if (dependency.startsWith('@calltrack/')) visit(dependency);
    }
  };
  visit(name);
  return found;
}

function indent(text) {
  return text
    .trim()
    .split('\n')
    .map((line) => `    ${line}`)
    .join('\n');
}
