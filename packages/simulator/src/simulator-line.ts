import type { SimulatorProvider } from './simulator-provider';

/**
 * A business phone number the simulator places and receives calls on, and the tenant (and
 * branch) it belongs to. Your app's `resolveTenant` maps the number back to the tenant, e.g.
 * with {@link findDemoLine}.
 */
export interface SimulatorLine {
  /** The provider that carries this number. */
  provider: SimulatorProvider;
  /**
   * The number in E.164 (`+14155550100`). CallerDesk payloads carry Indian numbers the way
   * CallerDesk sends them (`08041234567`); the provider package normalizes them back to E.164.
   */
  number: string;
  /** The tenant (workspace / company) the number belongs to. */
  tenantId: string;
  /** The tenant's branch (office, location), if the number belongs to one. */
  branchId?: string;
}
