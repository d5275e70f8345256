import { z } from 'zod';

/**
 * Input of the `activeCalls` and `activeCallsSnapshot` queries. The tenant comes from the
 * request's context, never from here; unknown keys (a forged `tenantId`) are dropped.
 */
export const activeCallsInputSchema = z
  .object({
    /** Only this branch's calls. */
    branchId: z.string().min(1).max(256).optional(),
    /** At most this many (1–10,000). Default 1,000. */
    limit: z.number().int().min(1).max(10_000).optional(),
  })
  .optional();

/** Input of the `activeCalls` and `activeCallsSnapshot` queries (what the client passes). */
export type ActiveCallsInput = z.input<typeof activeCallsInputSchema>;
