import { initTRPC } from '@trpc/server';

/** What every tRPC procedure of this app knows about the request. */
export interface AppContext {
  /** The signed-in user's tenant; undefined when nobody is signed in (UNAUTHORIZED). */
  tenantId: string | undefined;
}

/**
 * The request's context. This demo has no sign-in: every browser is tenant `demo`, the tenant
 * the simulator's demo lines belong to. A real app reads its session here, e.g.
 * `const session = await auth(); return { tenantId: session?.user.workspaceId };`; the
 * calltrack procedures take the tenant from this context only, never from the input.
 */
export async function createContext(request: Request): Promise<AppContext> {
  return { tenantId: demoTenantOf(request) };
}

/**
 * The tenant of a request: always `demo` here. The one place a real app reads its session, for
 * tRPC and for the call-control routes alike.
 */
export function demoTenantOf(_request: Request): string | undefined {
  return 'demo';
}

export const t = initTRPC.context<AppContext>().create({
  sse: {
    // Keeps proxies from cutting idle streams, and lets the browser notice a dead server.
    ping: { enabled: true, intervalMs: 15_000 },
    client: { reconnectAfterInactivityMs: 40_000 },
  },
});
