// Packs every public package and installs the tarballs into a fresh app outside the repo, then
// checks there that `import` and `require` of every entry work and that TypeScript resolves their
// types (module node16, both from ESM and CommonJS files). Run after `npm run build`.
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

const root = resolve(import.meta.dirname, '..');
const app = mkdtempSync(join(tmpdir(), 'calltrack-tarballs-'));
const run = (command, args, cwd) =>
  execFileSync(command, args, { cwd, stdio: ['ignore', 'pipe', 'inherit'], encoding: 'utf8' });

const packages = readdirSync(join(root, 'packages'))
  .map((name) => join(root, 'packages', name))
  .map((directory) => ({
    directory,
    manifest: JSON.parse(readFileSync(join(directory, 'package.json'), 'utf8')),
  }))
  .filter(({ manifest }) => !manifest.private);

try {
  const tarballs = packages.map(({ directory }) => {
    const output = run('npm', ['pack', '--silent', '--pack-destination', app], directory)
      .trim()
      .split('\n');
    return join(app, output.at(-1));
  });
  writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'tarball-app', private: true }));
  run(
    'npm',
    [
      'install',
      '--no-audit',
      '--no-fund',
      '--prefer-offline',
      ...tarballs,
      // What an app using these packages has anyway: its Redis client, Node's and React's types.
      'ioredis@5',
      '@types/node@20',
      '@types/react@19',
    ],
    app,
  );

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
  run(
    process.execPath,
    [join(root, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', 'tsconfig.json'],
    app,
  );
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
  console.log(`tarballs ok: ${packages.map(({ manifest }) => manifest.name).join(', ')}`);
} finally {
  rmSync(app, { recursive: true, force: true });
}
