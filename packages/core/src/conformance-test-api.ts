/**
 * The test functions a calltrack conformance suite (`describeEventBus`, `describeCallStore`,
 * `describePresenceStore`, `describeWebhookStore`, `describeLeadStore`, …) registers its tests
 * with: vitest's, jest's, mocha's or `node:test`'s `describe`, `it` and `afterEach` all fit
 * (vitest's `describe.skipIf(…)` too). The suites assert with `node:assert`, so they need no test
 * library of their own. Every suite is called `describeX(test, { name, create… })`.
 */
export interface ConformanceTestApi {
  describe(name: string, body: () => void): unknown;
  it(name: string, body: () => Promise<void>): unknown;
  afterEach(body: () => Promise<void>): unknown;
}
