// `npm run release -- --dry-run`: version, build and pack every public package in a throwaway
// git worktree of HEAD (plus the working tree's .changeset/), print what would be published, and
// remove the worktree. The working tree, the index and node_modules stay as they were.
//
// `npm run release`: the real release, from a clean `main` with NPM_TOKEN set: `changeset
// version` (committed as "Version packages"), build, package checks, `changeset publish`.
//
// See docs/releasing.md.
import { spawnSync } from 'node:child_process';
import {
  copyFileSync,
  existsSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { createRequire } from 'node:module';
import { availableParallelism, tmpdir } from 'node:os';
import { basename, dirname, join, relative, resolve } from 'node:path';

const root = resolve(import.meta.dirname, '..');
const usage = `usage: npm run release [-- --dry-run [--keep]]

  --dry-run  version, build and pack every public package in a throwaway worktree of HEAD
             (with the working tree's .changeset/), print the result, change nothing
  --keep     with --dry-run: keep the worktree and the tarballs for inspection
  (none)     the real release: clean main + NPM_TOKEN required; see docs/releasing.md`;

const args = process.argv.slice(2);
const known = new Set(['--dry-run', '--keep', '--help', '-h']);
const unknown = args.filter((arg) => !known.has(arg));
if (unknown.length > 0 || args.includes('--help') || args.includes('-h')) {
  console.log(usage);
  process.exit(unknown.length > 0 ? 2 : 0);
}
// `npm run release --dry-run` (without `--`) reaches us as npm_config_dry_run: honour it, and keep
// it away from the npm commands run below (npm pack would not write its tarball).
const environment = process.env;
const dryRun = args.includes('--dry-run') || environment.npm_config_dry_run === 'true';
delete environment.npm_config_dry_run;
const keep = args.includes('--keep');
if (keep && !dryRun) fail('--keep only makes sense with --dry-run.');

const started = performance.now();
try {
  if (dryRun) dryRunRelease();
  else realRelease();
} catch (error) {
  fail(error instanceof Error ? error.message : String(error));
}

// ---- the dry run ------------------------------------------------------------------------------

function dryRunRelease() {
  const head = git(['rev-parse', 'HEAD'], root).trim();
  const temp = mkdtempSync(join(tmpdir(), 'calltrack-release-'));
  const worktree = join(temp, 'repo');
  const tarballs = join(temp, 'tarballs');
  mkdirSync(tarballs);

  let added = false;
  const cleanUp = () => {
    if (keep) return;
    if (added) {
      spawnSync('git', ['worktree', 'remove', '--force', worktree], { cwd: root, stdio: 'ignore' });
      spawnSync('git', ['worktree', 'prune'], { cwd: root, stdio: 'ignore' });
    }
    rmSync(temp, { recursive: true, force: true });
  };
  const onSignal = (signal) => {
    cleanUp();
    process.exit(signal === 'SIGINT' ? 130 : 143);
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);

  try {
    step(`worktree of HEAD ${head.slice(0, 10)} in ${worktree}`);
    git(['worktree', 'add', '--detach', '--quiet', worktree, head], root);
    added = true;

    const changesets = syncChangesets(worktree);
    step(
      `${changesets.total} pending changeset(s) from the working tree's .changeset/` +
        (changesets.uncommitted.length > 0
          ? ` (not committed: ${changesets.uncommitted.join(', ')})`
          : ''),
    );
    linkNodeModules(worktree);

    const packages = publicPackages(worktree);
    const before = new Map(packages.map(({ manifest }) => [manifest.name, manifest.version]));

    step('changeset version');
    run(bin(worktree, 'changeset'), ['version'], worktree);
    const versioned = publicPackages(worktree);

    step(`build ${versioned.length} public packages (turbo)`);
    // turbo shares the main worktree's .turbo/cache with linked worktrees; keep ours apart.
    buildPublicPackages(worktree, versioned, [`--cache-dir=${join(temp, 'turbo-cache')}`]);

    step(`npm pack → ${tarballs}`);
    const rows = versioned.map(({ directory, manifest }) => {
      const [packed] = JSON.parse(
        run('npm', ['pack', '--json', '--pack-destination', tarballs], directory, {}, true),
      );
      return {
        name: manifest.name,
        from: before.get(manifest.name),
        to: manifest.version,
        file: packed.filename,
        size: packed.size,
        files: packed.entryCount,
        manifest,
      };
    });

    printTable(rows);
    const problems = checkInternalRanges(rows, worktree);
    const unversioned = rows.filter((row) => row.from === row.to);
    if (unversioned.length > 0) {
      console.log(
        `\nNot bumped (no changeset): ${unversioned.map((row) => `${row.name}@${row.to}`).join(', ')}.` +
          '\n`changeset publish` still publishes a version that is not on npm yet.',
      );
    }
    if (problems.length > 0) {
      console.log(`\nInternal dependency ranges that miss the released version:`);
      for (const problem of problems) console.log(`  ${problem}`);
      process.exitCode = 1;
    }
    if (keep) {
      console.log(
        `\nKept: ${worktree} and ${tarballs}.` +
          `\nRemove with: git worktree remove --force ${worktree} && rm -rf ${temp}`,
      );
    }
    console.log(
      `\nDry run done in ${seconds()} s; nothing was published and the working tree is unchanged.`,
    );
  } finally {
    cleanUp();
    process.removeListener('SIGINT', onSignal);
    process.removeListener('SIGTERM', onSignal);
  }
}

/**
 * Makes the worktree's .changeset/ what the working tree's is: the changesets (committed or
 * not, deletions included) and config.json. README.md stays as committed.
 */
function syncChangesets(worktree) {
  const source = join(root, '.changeset');
  const target = join(worktree, '.changeset');
  const isChangeset = (name) => name.endsWith('.md') && name !== 'README.md';
  for (const name of readdirSync(target).filter(isChangeset)) rmSync(join(target, name));
  const names = readdirSync(source).filter(isChangeset);
  for (const name of [...names, 'config.json'])
    copyFileSync(join(source, name), join(target, name));
  const committed = new Set(
    git(['ls-tree', '--name-only', 'HEAD', '.changeset/'], root)
      .split('\n')
      .filter(Boolean)
      .map((path) => basename(path)),
  );
  return { total: names.length, uncommitted: names.filter((name) => !committed.has(name)) };
}

/**
 * A worktree has no node_modules. npm ci would rebuild 700+ MB per run, so the worktree gets a
 * node_modules of its own whose entries are symlinks into the repository's, except the workspace
 * packages, which are linked to the worktree's own copies (as npm links them) so that siblings
 * resolve to the versioned sources and not to the working tree's. A workspace's own nested
 * node_modules, if npm made one, is linked as it is.
 */
function linkNodeModules(worktree) {
  const source = join(root, 'node_modules');
  if (!existsSync(source)) throw new Error('node_modules is missing: run `npm ci` first.');
  const target = join(worktree, 'node_modules');
  mkdirSync(target);
  const workspaces = workspacePackages(worktree);
  const workspaceNames = new Set(workspaces.map(({ manifest }) => manifest.name));
  const workspaceScopes = new Set(
    [...workspaceNames].filter((name) => name.startsWith('@')).map((name) => name.split('/')[0]),
  );
  for (const entry of readdirSync(source)) {
    if (entry === '.package-lock.json' || workspaceNames.has(entry)) continue;
    if (workspaceScopes.has(entry)) {
      mkdirSync(join(target, entry));
      for (const scoped of readdirSync(join(source, entry))) {
        if (workspaceNames.has(`${entry}/${scoped}`)) continue;
        symlinkSync(join(source, entry, scoped), join(target, entry, scoped));
      }
      continue;
    }
    symlinkSync(join(source, entry), join(target, entry));
  }
  for (const { directory, manifest } of workspaces) {
    const link = join(target, manifest.name);
    mkdirSync(dirname(link), { recursive: true });
    symlinkSync(relative(dirname(link), directory), link);
    // Dependencies npm had to nest under a workspace (a version conflict) live there.
    const nested = join(root, relative(worktree, directory), 'node_modules');
    if (existsSync(nested)) symlinkSync(nested, join(directory, 'node_modules'));
  }
}

// ---- the real release -------------------------------------------------------------------------

function realRelease() {
  const branch = git(['rev-parse', '--abbrev-ref', 'HEAD'], root).trim();
  const status = git(['status', '--porcelain'], root).trim();
  const reasons = [];
  if (branch !== 'main') reasons.push(`on branch "${branch}", not main`);
  if (status !== '') reasons.push('the working tree is not clean (git status --porcelain)');
  if (!environment.NPM_TOKEN) reasons.push('NPM_TOKEN is not set');
  if (reasons.length > 0) {
    throw new Error(
      `refusing to release: ${reasons.join('; ')}.\n` +
        'Try `npm run release -- --dry-run` first; see docs/releasing.md.',
    );
  }

  const pending = readdirSync(join(root, '.changeset')).filter(
    (name) => name.endsWith('.md') && name !== 'README.md',
  );
  if (pending.length > 0) {
    step(`changeset version (${pending.length} changesets)`);
    run(bin(root, 'changeset'), ['version'], root);
    git(['add', '--all'], root); // the tree was clean: only what changeset version changed
    git(['commit', '--quiet', '-m', 'Version packages'], root);
    step(`committed "Version packages" (${git(['rev-parse', '--short', 'HEAD'], root).trim()})`);
  } else {
    step('no pending changesets: publishing versions that are not on npm yet, if any');
  }

  step('build, package checks, tarball checks');
  buildPublicPackages(root, publicPackages(root));
  run('npm', ['run', 'check:packages'], root);
  run('npm', ['run', 'test:tarballs'], root);

  // npm reads the token from a user config; this one names the variable, not its value.
  const temp = mkdtempSync(join(tmpdir(), 'calltrack-npmrc-'));
  const userconfig = join(temp, 'npmrc');
  writeFileSync(
    userconfig,
    // biome-ignore lint/suspicious/noTemplateCurlyInString: npm expands ${NPM_TOKEN} when it reads the file
    'registry=https://registry.npmjs.org/\n//registry.npmjs.org/:_authToken=${NPM_TOKEN}\n',
  );
  try {
    step('changeset publish');
    run(bin(root, 'changeset'), ['publish'], root, { NPM_CONFIG_USERCONFIG: userconfig });
  } finally {
    rmSync(temp, { recursive: true, force: true });
  }
  console.log(
    `\nReleased in ${seconds()} s. Push the version commit and the tags: git push --follow-tags`,
  );
}

// ---- helpers ----------------------------------------------------------------------------------

/** `turbo run build` for the public packages (and what they depend on), not the examples. */
function buildPublicPackages(directory, packages, extraArgs = []) {
  run(
    bin(directory, 'turbo'),
    [
      'run',
      'build',
      ...packages.map(({ manifest }) => `--filter=${manifest.name}`),
      `--concurrency=${Math.max(1, availableParallelism())}`,
      ...extraArgs,
      '--output-logs=errors-only',
      '--ui=stream',
    ],
    directory,
    { TURBO_TELEMETRY_DISABLED: '1' },
  );
}

function workspacePackages(directory) {
  const { workspaces = [] } = readJson(join(directory, 'package.json'));
  return workspaces.flatMap((pattern) => {
    if (!pattern.endsWith('/*')) throw new Error(`unsupported workspace pattern ${pattern}`);
    const parent = join(directory, pattern.slice(0, -2));
    if (!existsSync(parent)) return [];
    return readdirSync(parent)
      .map((name) => join(parent, name))
      .filter((path) => statSync(path).isDirectory() && existsSync(join(path, 'package.json')))
      .map((path) => ({ directory: path, manifest: readJson(join(path, 'package.json')) }));
  });
}

function publicPackages(directory) {
  return workspacePackages(directory).filter(({ manifest }) => manifest.private !== true);
}

/** Internal dependencies of each packed package must accept the version released beside it. */
function checkInternalRanges(rows, worktree) {
  const semver = createRequire(join(worktree, 'package.json'))('semver');
  const released = new Map(rows.map((row) => [row.name, row.to]));
  const problems = [];
  for (const row of rows) {
    for (const field of ['dependencies', 'peerDependencies', 'optionalDependencies']) {
      for (const [name, range] of Object.entries(row.manifest[field] ?? {})) {
        const version = released.get(name);
        if (version !== undefined && !semver.satisfies(version, range)) {
          problems.push(`${row.name} ${field}.${name} "${range}" does not include ${version}`);
        }
      }
    }
  }
  return problems;
}

function printTable(rows) {
  const table = [
    ['package', 'version', 'tarball', 'size', 'files'],
    ...rows.map((row) => [
      row.name,
      row.from === row.to ? `${row.to} (unchanged)` : `${row.from} → ${row.to}`,
      row.file,
      formatBytes(row.size),
      String(row.files),
    ]),
  ];
  const widths = table[0].map((_, column) => Math.max(...table.map((line) => line[column].length)));
  console.log('');
  for (const [index, line] of table.entries()) {
    console.log(
      line
        .map((cell, column) =>
          column >= 3 ? cell.padStart(widths[column]) : cell.padEnd(widths[column]),
        )
        .join('  '),
    );
    if (index === 0) console.log(widths.map((width) => '-'.repeat(width)).join('  '));
  }
  const total = rows.reduce((sum, row) => sum + row.size, 0);
  console.log(`${rows.length} tarballs, ${formatBytes(total)} in total`);
}

function formatBytes(bytes) {
  return bytes < 1024 ? `${bytes} B` : `${(bytes / 1024).toFixed(1)} kB`;
}

function bin(directory, name) {
  const path = join(directory, 'node_modules', '.bin', name);
  if (!existsSync(path) && !lstatSync(path, { throwIfNoEntry: false })) {
    throw new Error(`${name} is not installed (node_modules/.bin/${name}): run \`npm ci\` first.`);
  }
  return path;
}

function git(gitArgs, cwd) {
  return run('git', gitArgs, cwd, {}, true);
}

/** Runs a command; its output goes to the terminal unless `capture`, then it is returned. */
function run(command, commandArgs, cwd, env = {}, capture = false) {
  const result = spawnSync(command, commandArgs, {
    cwd,
    env: { ...environment, ...env },
    encoding: 'utf8',
    stdio: capture ? ['ignore', 'pipe', 'pipe'] : 'inherit',
    maxBuffer: 64 * 1024 * 1024,
  });
  if (result.error) throw result.error;
  if (result.status !== 0) {
    const output = capture ? `\n${result.stderr || result.stdout}`.trimEnd() : '';
    throw new Error(
      `${basename(command)} ${commandArgs.join(' ')} failed (${result.status})${output}`,
    );
  }
  return result.stdout ?? '';
}

function readJson(path) {
  return JSON.parse(readFileSync(path, 'utf8'));
}

function step(message) {
  console.log(`[${seconds().padStart(5)} s] ${message}`);
}

function seconds() {
  return ((performance.now() - started) / 1000).toFixed(1);
}

function fail(message) {
  console.error(`release: ${message}`);
  process.exit(1);
}
