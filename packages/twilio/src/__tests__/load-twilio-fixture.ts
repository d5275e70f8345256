import { readFileSync } from 'node:fs';

/** The raw form body of a fixture in `src/__fixtures__/`, without the trailing newline. */
export function loadTwilioFixture(name: string): string {
  return readFileSync(new URL(`../__fixtures__/${name}.txt`, import.meta.url), 'utf8').trim();
}
