import type { CallSnapshot } from '@calltrack/core';
import type { CallStore } from './call-store';

/** Start time in ms, as the store filters and orders active calls by it. */
const startOf = (call: CallSnapshot): number =>
  call.startedAt === undefined ? 0 : Date.parse(call.startedAt);

/**
 * Every active call of a tenant that started before `startedBefore`, a page at a time, the
 * newest first. `listActiveCalls` has a limit and no cursor, so each next page asks for the calls
 * that started up to the previous page's oldest start, with room for those of that very start it
 * already listed (the store orders one start's calls by call id): a limit alone left every call
 * past the first page out, for as long as the first page's calls stayed active.
 */
export async function* walkLongRunningCalls(
  store: CallStore,
  tenantId: string,
  startedBefore: number,
  pageSize: number,
): AsyncGenerator<CallSnapshot[]> {
  const seen = new Set<string>();
  let before = startedBefore;
  let repeated = 0;
  for (;;) {
    const limit = pageSize + repeated;
    const listed = await store.listActiveCalls(tenantId, { startedBefore: before, limit });
    const page = listed.filter((call) => !seen.has(call.callId));
    for (const call of page) seen.add(call.callId);
    if (page.length > 0) yield page;
    // A short list is the end; a list of nothing new (a store that orders otherwise) stops too.
    if (listed.length < limit || page.length === 0) return;
    const oldest = startOf(listed[listed.length - 1]!);
    repeated = listed.filter((call) => startOf(call) === oldest).length;
    before = oldest + 1;
  }
}
