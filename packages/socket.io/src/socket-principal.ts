import { tenantIdSchema } from '@calltrack/core';
import { z } from 'zod';

/** Who a connection belongs to, as the app's `authenticate` decided. */
export interface SocketPrincipal {
  /** The connection's tenant: every event it receives is this tenant's. */
  tenantId: string;
  /** The signed-in user, for the `user:` room. */
  userId?: string;
}

/** Validates what `authenticate` returned. */
export const socketPrincipalSchema = z.object({
  tenantId: tenantIdSchema,
  userId: z.string().min(1).max(256).optional(),
});
