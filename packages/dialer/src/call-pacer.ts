/**
 * Spaces calls out per provider account, across every process that shares the pacer: Twilio
 * allows 1 call per second per account by default and queues (then cancels) what goes over.
 *
 * Built in: `createMemoryCallPacer` (one process) and `createRedisCallPacer` (shared through
 * Redis, `@calltrack/dialer/redis`), both over rate-limiter-flexible.
 */
export interface CallPacer {
  /**
   * Waits until one more call may be placed on `account` at `callsPerSecond`, and takes that
   * slot. Rejects if the signal aborts first, or if the limiter's backend fails.
   */
  acquire(account: string, callsPerSecond: number, signal?: AbortSignal): Promise<void>;
}
