'use client';

import type { UserPresence } from '@calltrack/core';
import type { CallTrackState } from './call-track-state';
import { useCallTrackState } from './use-call-track-state';

/** Options of {@link useOnlineMembers} and `useMemberCount`. */
export interface PresenceScopeOptions {
  /**
   * Only this tenant's users: for a client that sees every tenant (an `allTenants` principal,
   * an operations console). Without it, the users of every tenant the stream sees.
   */
  tenantId?: string;
}

const noMembers: readonly UserPresence[] = [];
const selectMembers = (state: CallTrackState) => state.presence.members;

function membersOf(state: CallTrackState, tenantId: string | undefined): readonly UserPresence[] {
  if (tenantId === undefined) return state.presence.members;
  return state.presence.byTenant.get(tenantId)?.members ?? noMembers;
}

/**
 * The connected users (online and away), live: the members snapshot plus every `presence.*`
 * event. On a tenant's stream, that tenant's, by user id. On a stream of every tenant (an
 * operations console), every tenant's, by tenant id, then user id (each has its `tenantId`); pass
 * `{ tenantId }` for one tenant's. Empty when the server said presence is not available on the
 * stream (`state.presence.isAvailable` false). Re-renders when the list changes. Pass a selector
 * to re-render only when what it picks changes (`Object.is`, or `isEqual`), as with
 * `useCallTrackState`:
 *
 * @example
 * const available = useOnlineMembers(
 *   (members) => members.filter((member) => member.state === 'available').map((m) => m.userId),
 *   (a, b) => a.join() === b.join(),
 * );
 * const acme = useOnlineMembers({ tenantId: 'acme' }); // on a console of every tenant
 */
export function useOnlineMembers(options?: PresenceScopeOptions): readonly UserPresence[];
export function useOnlineMembers<Selected>(
  selector: (members: readonly UserPresence[]) => Selected,
  isEqual?: (a: Selected, b: Selected) => boolean,
): Selected;
export function useOnlineMembers<Selected>(
  options: PresenceScopeOptions,
  selector: (members: readonly UserPresence[]) => Selected,
  isEqual?: (a: Selected, b: Selected) => boolean,
): Selected;
export function useOnlineMembers<Selected>(
  first?: PresenceScopeOptions | ((members: readonly UserPresence[]) => Selected),
  second?:
    | ((members: readonly UserPresence[]) => Selected)
    | ((a: Selected, b: Selected) => boolean),
  third?: (a: Selected, b: Selected) => boolean,
): Selected | readonly UserPresence[] {
  const scoped = typeof first !== 'function';
  const tenantId = scoped ? first?.tenantId : undefined;
  const selector = (scoped ? second : first) as
    | ((members: readonly UserPresence[]) => Selected)
    | undefined;
  const isEqual = (scoped ? third : second) as ((a: Selected, b: Selected) => boolean) | undefined;
  return useCallTrackState<Selected | readonly UserPresence[]>(
    selector === undefined
      ? tenantId === undefined
        ? selectMembers
        : (state) => membersOf(state, tenantId)
      : (state) => selector(membersOf(state, tenantId)),
    isEqual as
      | ((a: Selected | readonly UserPresence[], b: Selected | readonly UserPresence[]) => boolean)
      | undefined,
  );
}
