/**
 * The test functions the tracker's conformance suites register their tests with: vitest's,
 * jest's, mocha's or `node:test`'s `describe`, `it` and `afterEach` all fit. The suites assert
 * with `node:assert`, so they need no test library of their own.
 */
export interface TrackerTestApi {
  describe(name: string, body: () => void): unknown;
  it(name: string, body: () => Promise<void>): unknown;
  afterEach(body: () => Promise<void>): unknown;
}
