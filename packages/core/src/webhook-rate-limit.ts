/**
 * A request budget, as `rate-limiter-flexible`'s limiters (`RateLimiterMemory`,
 * `RateLimiterRedis`, `RateLimiterCluster`…) provide it: `consume(key)` resolves while the key has
 * points left and rejects with a result carrying `msBeforeNext` once they are spent. calltrack
 * only calls `consume`, so any object of this shape works.
 */
export interface WebhookRateLimiter {
  /**
   * Takes one point from `key`'s budget. Resolves when there was one; rejects with
   * `{ msBeforeNext }` (a `RateLimiterRes`) when the budget is spent, and with an `Error` when
   * the limiter's store failed.
   */
  consume(key: string, points?: number): Promise<unknown>;
}

/**
 * Optional request budgets of a webhook handler, answered 429 with `Retry-After` when spent. Each
 * request consumes one point:
 *
 * - `perClientAddress`, keyed `address:<client address>` (an IPv6 client by its /64,
 *   `address:2001:db8:1:2::/64`: one host may send from any address of it), checked with the
 *   method and `allowIp` before the body is read. Requests whose runtime gives no client address (Next.js route
 *   handlers) are not limited per address.
 * - `perTenant`, keyed `tenant:<tenantId>`, checked once the tenant is resolved and the request
 *   authenticated, before anything is published: a forger cannot spend a tenant's budget.
 *
 * A limiter whose store fails (Redis unreachable) lets the request through and reports the error
 * to `onError`: webhooks keep flowing, and `rate-limiter-flexible`'s `insuranceLimiter` keeps a
 * limit in place during the outage. Give `RateLimiterRedis` `rejectIfRedisNotReady: true`, or its
 * command waits in ioredis' offline queue (10 s and more) and the webhook with it.
 */
export interface WebhookRateLimit {
  /** Budget per client address. */
  perClientAddress?: WebhookRateLimiter;
  /** Budget per tenant. */
  perTenant?: WebhookRateLimiter;
}
