// Runs every benchmark under bench/ in its own process, one after another (the machine has two
// cores; running them together would make every figure wrong). `npm run bench -- redis` runs the
// benchmarks whose file name contains "redis".
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const directory = dirname(fileURLToPath(import.meta.url));
const filter = process.argv[2] ?? '';
const files = readdirSync(directory)
  .filter((file) => file.endsWith('.bench.ts') && file.includes(filter))
  .sort();

let failed = 0;
for (const file of files) {
  console.log(`\n=== ${file} ===`);
  const result = spawnSync(
    process.execPath,
    ['--import', 'tsx', '--conditions=@calltrack/source', '--expose-gc', join(directory, file)],
    { stdio: 'inherit' },
  );
  if (result.status !== 0) failed += 1;
}
if (failed > 0) {
  console.error(`\n${failed} benchmark(s) failed`);
  process.exit(1);
}
