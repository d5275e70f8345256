// Projects whose vitest config says `isolate: false` run their test files one after another in one
// worker that keeps its modules, instead of a fresh process per file (which spent about a third of
// these projects' time importing the same modules again). That is sound only while none of their
// files mocks a module, stubs a global or sets an environment variable: a mock would not apply to
// a module an earlier file loaded, and would leak into the files after it. This keeps it so; a
// test that needs one belongs to an isolated project (tracker, twilio, retell, callerdesk do).
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';

const root = join(import.meta.dirname, '..');

/** What a file may not do in a project that shares modules between its test files. */
const perFileState =
  /\bvi\.(mock|doMock|unmock|doUnmock|hoisted|stubGlobal|stubEnv|resetModules)\(|process\.env\.\w+\s*=(?!=)|delete process\.env\b/;

/** Each project directory (one with a vitest.config.ts) whose config turns isolation off. */
function sharingProjects(): string[] {
  const found: string[] = [];
  for (const group of ['packages', 'examples', 'tools']) {
    for (const entry of readdirSync(join(root, group), { withFileTypes: true })) {
      if (!entry.isDirectory()) continue;
      const directory = join(root, group, entry.name);
      let config: string;
      try {
        config = readFileSync(join(directory, 'vitest.config.ts'), 'utf8');
      } catch {
        continue; // not a vitest project
      }
      if (/\bisolate:\s*false\b/.test(config)) found.push(directory);
    }
  }
  return found;
}

/** The TypeScript files of a project's sources and tests (not its dependencies or builds). */
function sourceFiles(directory: string): string[] {
  const files: string[] = [];
  for (const entry of readdirSync(directory, { withFileTypes: true })) {
    if (['node_modules', 'dist', '.next', '.turbo', 'public'].includes(entry.name)) continue;
    const path = join(directory, entry.name);
    if (entry.isDirectory()) files.push(...sourceFiles(path));
    else if (/\.tsx?$/.test(entry.name)) files.push(path);
  }
  return files;
}

const projects = sharingProjects();

describe('projects whose test files share modules (isolate: false)', () => {
  it('exist (so the check below checks something)', () => {
    expect(projects.length).toBeGreaterThan(0);
  });

  it.each(projects.map((directory) => relative(root, directory)))(
    '%s: no file mocks a module, stubs a global or sets an environment variable',
    (project) => {
      const offending = sourceFiles(join(root, project))
        .filter((file) => perFileState.test(readFileSync(file, 'utf8')))
        .map((file) => relative(root, file));
      expect(offending).toEqual([]);
    },
  );
});
