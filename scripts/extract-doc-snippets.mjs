// Finds the fenced code blocks of the documentation that are marked runnable, and groups them
// into the programs check-doc-snippets.mjs typechecks and runs.
//
// The marker is a word in the fence's info string, after the language (GitHub still highlights
// the language, and shows nothing of the rest):
//
//   ```ts runnable                 a program of its own: typechecked (strict) as a module
//   ```ts runnable append          the continuation of the document's previous runnable block
//                                  (the reader pastes it below that one, in the same file)
//   ```ts runnable serve=/api/events
//                                  a program that is also started as a server and fed with the
//                                  simulator; `serve=` names its SSE endpoint, where the check
//                                  watches the calls arrive
//   ```sh runnable                 the `npx calltrack-sim …` lines that feed the last served
//                                  program (--target is pointed at the server the check starts)
//
// A block whose first line is a path comment (`// app/api/events/route.ts`) is written to that
// path, so a document can show the files of one app; `@/…` imports resolve from the
// document's app root, as in Next.js.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

/** The documentation files whose blocks are looked at, relative to `root`. */
export function documentationFiles(root) {
  const files = ['README.md'];
  const inDirectory = (directory, pick) => {
    try {
      return readdirSync(join(root, directory))
        .sort()
        .flatMap((name) => pick(join(directory, name)));
    } catch {
      return [];
    }
  };
  files.push(...inDirectory('docs/guides', (path) => (path.endsWith('.md') ? [path] : [])));
  for (const directory of ['packages', 'examples']) {
    files.push(
      ...inDirectory(directory, (path) => {
        try {
          readFileSync(join(root, path, 'README.md'));
          return [join(path, 'README.md')];
        } catch {
          return [];
        }
      }),
    );
  }
  return files;
}

const fencePattern = /^(\s*)(`{3,}|~{3,})\s*(.*)$/;
const pathCommentPattern = /^\/\/\s*([\w@.[\]/-]+\.tsx?)\s*$/;

/**
 * The fenced blocks of one Markdown text: `{ line, language, attributes, code }`, `line` being
 * the 1-based line of the block's first code line.
 */
export function fencedBlocks(text) {
  const lines = text.split('\n');
  const blocks = [];
  let open;
  lines.forEach((line, index) => {
    const match = fencePattern.exec(line);
    if (!open) {
      if (match) open = { fence: match[2], line: index + 2, info: match[3].trim(), code: [] };
      return;
    }
    if (match?.[2].startsWith(open.fence) && match[3].trim() === '') {
      const [language = '', ...words] = open.info.split(/\s+/).filter(Boolean);
      const attributes = Object.fromEntries(
        words.map((word) => {
          const equals = word.indexOf('=');
          return equals === -1 ? [word, true] : [word.slice(0, equals), word.slice(equals + 1)];
        }),
      );
      blocks.push({ line: open.line, language, attributes, code: open.code.join('\n') });
      open = undefined;
      return;
    }
    open.code.push(line);
  });
  return blocks;
}

/**
 * The runnable programs of the documentation under `root`: `{ document, file, language,
 * segments: [{ line, code }], serve?, feed?: [{ line, command }] }`. Throws for a misplaced
 * marker (an `append` with nothing before it, a `sh runnable` block without a served program).
 */
export function runnablePrograms(root) {
  const programs = [];
  for (const document of documentationFiles(root)) {
    const text = readFileSync(join(root, document), 'utf8');
    let last;
    let lastServed;
    for (const block of fencedBlocks(text)) {
      if (block.attributes.runnable !== true) continue;
      const where = `${document}:${block.line - 1}`;
      if (block.language === 'sh' || block.language === 'bash') {
        if (!lastServed)
          throw new Error(
            `${where}: a runnable sh block feeds a served program, and none comes before it`,
          );
        const commands = block.code
          .split('\n')
          .map((command, offset) => ({ line: block.line + offset, command: command.trim() }))
          .filter(({ command }) => command.startsWith('npx calltrack-sim '));
        if (commands.length === 0)
          throw new Error(
            `${where}: a runnable sh block runs \`npx calltrack-sim …\`, and this one does not`,
          );
        lastServed.feed.push(...commands);
        continue;
      }
      if (block.language !== 'ts' && block.language !== 'tsx') {
        throw new Error(
          `${where}: only ts, tsx and sh blocks can be runnable, not "${block.language}"`,
        );
      }
      const segment = { line: block.line, code: block.code };
      if (block.attributes.append === true) {
        if (!last) throw new Error(`${where}: "runnable append" with no runnable block before it`);
        last.segments.push(segment);
        if (block.language === 'tsx') last.language = 'tsx';
        continue;
      }
      const named = pathCommentPattern.exec(block.code.split('\n')[0] ?? '');
      const file = named ? named[1] : `snippet-${block.line - 1}.${block.language}`;
      last = { document, file, language: block.language, segments: [segment], feed: [] };
      if (typeof block.attributes.serve === 'string') {
        last.serve = block.attributes.serve;
        lastServed = last;
      }
      programs.push(last);
    }
  }
  return programs;
}
