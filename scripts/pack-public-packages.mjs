// Packs every public package under packages/ with `npm pack`, as npm would publish it, and
// installs tarballs into scratch apps outside the repository. Shared by check-tarballs.mjs and
// check-doc-snippets.mjs.
//
// Tarballs are cached under node_modules/.cache/calltrack-tarballs/, keyed by a hash of the
// package's files (dist included), so the second script of `npm test` reuses what the first
// packed, and an unchanged package is never packed twice. Run after `npm run build`.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';

/** The repository root. */
export const root = resolve(import.meta.dirname, '..');
const cacheDirectory = join(root, 'node_modules', '.cache', 'calltrack-tarballs');

/** Runs a command, returns its stdout; its stderr goes to ours. */
export function run(command, args, cwd, options = {}) {
  return execFileSync(command, args, {
    cwd,
    stdio: ['ignore', 'pipe', 'inherit'],
    encoding: 'utf8',
    ...options,
  });
}

/** Every package under packages/ that is not private: `{ directory, manifest }`. */
export function publicPackages() {
  return readdirSync(join(root, 'packages'))
    .map((name) => join(root, 'packages', name))
    .map((directory) => ({
      directory,
      manifest: JSON.parse(readFileSync(join(directory, 'package.json'), 'utf8')),
    }))
    .filter(({ manifest }) => !manifest.private);
}

/** Hash of every file of a package directory but node_modules and tool caches. */
function hashDirectory(directory) {
  const hash = createHash('sha256');
  const walk = (current) => {
    for (const entry of readdirSync(current).sort()) {
      if (entry === 'node_modules' || entry === '.turbo' || entry === 'test-results') continue;
      const path = join(current, entry);
      if (statSync(path).isDirectory()) walk(path);
      else hash.update(relative(directory, path)).update('\0').update(readFileSync(path));
    }
  };
  walk(directory);
  return hash.digest('hex').slice(0, 16);
}

/**
 * Packs every public package (or reuses its cached tarball) and returns
 * `Map<package name, absolute tarball path>`.
 */
export function packPublicPackages() {
  const tarballs = new Map();
  for (const { directory, manifest } of publicPackages()) {
    if (!existsSync(join(directory, 'dist'))) {
      throw new Error(`${manifest.name} has no dist/: run \`npm run build\` first`);
    }
    const target = join(
      cacheDirectory,
      `${manifest.name.replace('/', '+')}-${hashDirectory(directory)}`,
    );
    let file = existsSync(target)
      ? readdirSync(target).find((name) => name.endsWith('.tgz'))
      : undefined;
    if (file === undefined) {
      mkdirSync(target, { recursive: true });
      file = run('npm', ['pack', '--silent', '--pack-destination', target], directory)
        .trim()
        .split('\n')
        .at(-1);
    }
    tarballs.set(manifest.name, join(target, file));
  }
  return tarballs;
}

/**
 * Installs `specs` (tarball paths and registry specs) into `directory`, a fresh app with a
 * package.json of `manifest`.
 */
export function installApp(directory, specs, manifest = {}) {
  mkdirSync(directory, { recursive: true });
  writeFileSync(
    join(directory, 'package.json'),
    JSON.stringify({ name: 'scratch-app', private: true, ...manifest }, null, 2),
  );
  run(
    'npm',
    ['install', '--no-audit', '--no-fund', '--prefer-offline', '--loglevel=error', ...specs],
    directory,
  );
}

/** Runs the repository's TypeScript compiler on `tsconfig.json` in `directory`; returns its output and exit status. */
export function typecheck(directory, project = 'tsconfig.json') {
  try {
    const output = run(
      process.execPath,
      [join(root, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', project, '--pretty', 'false'],
      directory,
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    return { ok: true, output };
  } catch (error) {
    return { ok: false, output: `${error.stdout ?? ''}${error.stderr ?? ''}` };
  }
}
