/**
 * Whose call a webhook belongs to. `tenantId` is required (up to 128 characters, no whitespace,
 * control characters or braces); the rest is copied onto every event when given.
 */
export interface TwilioTenant {
  tenantId: string;
  branchId?: string;
  agentId?: string;
  userId?: string;
}
