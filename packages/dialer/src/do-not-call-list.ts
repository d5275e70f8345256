/**
 * Numbers not to call, per tenant: checked for every lead at dial time (a number added after
 * the list was loaded is still honoured). Numbers are compared as given, and leads are dialled
 * only in E.164, so keep them in E.164: the built-in lists refuse any other number
 * (`InvalidArgumentError`, none of the batch added), which could never stop a call.
 *
 * Built in: `createMemoryDoNotCallList` and `createRedisDoNotCallList`
 * (`@calltrack/dialer/redis`). For a national registry or your CRM, use the dialer's
 * `isDoNotCall` hook instead or as well.
 */
export interface DoNotCallList {
  /** True when the tenant must not call `phoneNumber`. */
  has(tenantId: string, phoneNumber: string): Promise<boolean>;
  add(tenantId: string, phoneNumbers: readonly string[]): Promise<void>;
  remove(tenantId: string, phoneNumbers: readonly string[]): Promise<void>;
}
