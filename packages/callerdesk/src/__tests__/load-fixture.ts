import { readFileSync } from 'node:fs';

/** A captured payload from `src/__fixtures__`: its exact text and its parsed JSON. */
export interface Fixture {
  text: string;
  json: Record<string, unknown>;
}

/** Reads `src/__fixtures__/<name>`. */
export function loadFixture(name: string): Fixture {
  const text = readFileSync(new URL(`../__fixtures__/${name}`, import.meta.url), 'utf8');
  return { text, json: JSON.parse(text) as Record<string, unknown> };
}
