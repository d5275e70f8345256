// What every entry of every published package exports at run time, checked against the list in
// `public-exports.txt` (one `entry name` a line): a new export (or a lost one) fails here until
// the list says so, so it is a choice made in review, not an accident of an `index.ts`. Types are erased at run time; the
// API reference (`npm run docs`) and decision 0066 cover them.
//
// After a deliberate change: UPDATE_PUBLIC_EXPORTS=1 npx vitest run --project public-exports
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const root = join(import.meta.dirname, '..');
const listFile = join(import.meta.dirname, 'public-exports.txt');

interface PackageJson {
  name: string;
  private?: boolean;
  exports?: Record<string, unknown>;
}

/** Every entry (`@calltrack/core`, `@calltrack/core/node`, …) of every package that is published. */
function publicEntries(): string[] {
  const entries: string[] = [];
  for (const directory of readdirSync(join(root, 'packages'))) {
    const manifest = JSON.parse(
      readFileSync(join(root, 'packages', directory, 'package.json'), 'utf8'),
    ) as PackageJson;
    if (manifest.private) continue;
    for (const subpath of Object.keys(manifest.exports ?? {})) {
      if (subpath === './package.json') continue;
      entries.push(subpath === '.' ? manifest.name : `${manifest.name}${subpath.slice(1)}`);
    }
  }
  return entries.sort();
}

/** `+ entry name` for an export the list lacks, `- entry name` for one the entry lost. */
function differences(actual: string[], listed: string[]): string[] {
  const now = new Set(actual);
  const before = new Set(listed);
  return [
    ...actual.filter((line) => !before.has(line)).map((line) => `+ ${line}`),
    ...listed.filter((line) => !now.has(line)).map((line) => `- ${line}`),
  ];
}

describe('public exports', () => {
  // Loading every package's source once takes a few seconds.
  it('every entry exports at run time exactly what public-exports.txt lists', {
    timeout: 120_000,
  }, async () => {
    // The `@calltrack/source` condition (this project's config) loads each entry's TypeScript.
    const entries = publicEntries();
    const modules = await Promise.all(entries.map((entry) => import(entry)));
    const actual = entries.flatMap((entry, index) =>
      Object.keys(modules[index])
        .sort()
        .map((name) => `${entry} ${name}`),
    );
    if (process.env.UPDATE_PUBLIC_EXPORTS === '1') {
      writeFileSync(listFile, `${actual.join('\n')}\n`);
      return;
    }
    const listed = readFileSync(listFile, 'utf8').split('\n').filter(Boolean);
    const changed = differences(actual, listed);
    expect(
      changed,
      'The public exports changed. If that is meant, rerun with UPDATE_PUBLIC_EXPORTS=1 and commit ' +
        'scripts/public-exports.txt (and a changeset):\n' +
        changed.join('\n'),
    ).toEqual([]);
  });
});
