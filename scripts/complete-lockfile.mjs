// Adds lockfile entries for platform-specific optional dependencies that npm left out.
//
// The registry proxy this project is developed behind answers 404 for other platforms' binary
// packages (@biomejs/cli-darwin-arm64, @rollup/rollup-win32-x64-msvc …), so npm records only
// the current platform's and `npm ci` then rejects its own lockfile as out of sync (npm/cli#8320
// describes the same symptom). A placeholder `{ version, optional }` entry is what `npm ci`
// needs: on a platform the package does not fit, installing it fails quietly as an optional
// dependency; on the platform it is for, npm fetches it by name and version.
//
// Run after every `npm install` that changes dependencies: `npm run lockfile:complete`.
import { readFileSync, writeFileSync } from 'node:fs';

const file = new URL('../package-lock.json', import.meta.url);
const lock = JSON.parse(readFileSync(file, 'utf8'));
let added = 0;
for (const [path, entry] of Object.entries(lock.packages)) {
  for (const [name, version] of Object.entries(entry.optionalDependencies ?? {})) {
    const nested = `${path === '' ? '' : `${path}/`}node_modules/${name}`;
    const hoisted = `node_modules/${name}`;
    if (lock.packages[nested] || lock.packages[hoisted]) continue;
    lock.packages[hoisted] = { version, dev: entry.dev, optional: true };
    added += 1;
  }
}
writeFileSync(file, `${JSON.stringify(lock, null, 2)}\n`);
console.log(`complete-lockfile: ${added} placeholder entries added`);
