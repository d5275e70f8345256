import { readFileSync } from 'node:fs';

/** A captured payload from a `__fixtures__` folder: its exact text and its parsed JSON. */
export interface Fixture {
  text: string;
  json: Record<string, unknown>;
}

/**
 * Returns a function reading JSON fixtures from `directory`, e.g.
 * `createFixtureLoader(new URL('./__fixtures__/', import.meta.url))` in a test beside them.
 * The URL must end with `/`.
 */
export function createFixtureLoader(directory: URL): (name: string) => Fixture {
  return (name) => {
    const text = readFileSync(new URL(name, directory), 'utf8');
    return { text, json: JSON.parse(text) as Record<string, unknown> };
  };
}
