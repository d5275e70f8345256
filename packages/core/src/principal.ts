import { z } from 'zod';
import { tenantIdSchema } from './tenant-id-schema';

/**
 * Who a request or a connection belongs to, as the app's `authenticate` decided: what every
 * transport (SSE, Socket.IO, tRPC), the tracker's read API and presence key their work by.
 * Never taken from a query string or a client-sent field.
 */
export interface Principal {
  /** The tenant whose events and calls the principal sees. */
  tenantId: string;
  /** The signed-in user: user-addressed events and presence are keyed by it. */
  userId?: string;
  /**
   * Super-admin views: see every tenant's events and active calls, not only `tenantId`'s. Must be
   * set explicitly, and only for principals your app trusts with every tenant's data.
   */
  allTenants?: boolean;
  /** The user's roles, for your own checks in hooks; calltrack does not interpret them. */
  roles?: readonly string[];
  /** Anything else your app knows (a session id…), passed through to hooks untouched. */
  [key: string]: unknown;
}

/** Validates what an app's `authenticate` returned; extra fields pass through. */
export const principalSchema = z.looseObject({
  tenantId: tenantIdSchema,
  userId: z.string().min(1).max(256).optional(),
  allTenants: z.boolean().optional(),
  roles: z.array(z.string().min(1).max(128)).max(64).optional(),
});

/**
 * Resolves the caller from a request, a handshake, a context…: a {@link Principal}, or null /
 * undefined for missing or bad credentials (answered 401). Throw a `CallTrackError` to answer with
 * its status.
 */
export type Authenticate<Input> = (
  input: Input,
) => Principal | null | undefined | Promise<Principal | null | undefined>;
