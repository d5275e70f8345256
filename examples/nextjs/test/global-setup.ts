import { buildIfMissing } from './start-next-app';

/**
 * Builds the app once, before any test file starts it (the files run in parallel, and two
 * `next build`s in one directory would trample each other). In CI the build already ran.
 */
export async function setup(): Promise<void> {
  await buildIfMissing();
}
