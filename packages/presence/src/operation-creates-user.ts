import type { PresenceOperation } from './presence-store';

/**
 * Whether an operation may create a user's record: only those list a tenant for the sweeper, so
 * reads of a tenant nobody is in (a board polling a tenant id) do not make every sweep visit it.
 */
export function operationCreatesUser(operation: PresenceOperation): boolean {
  return operation.kind === 'connect' || operation.kind === 'state' || operation.kind === 'send';
}
