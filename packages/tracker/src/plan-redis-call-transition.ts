import type { CallSnapshot } from '@calltrack/core';
import { callDetailNames } from './call-details';
import { isActiveStatus, statusRank, terminalStatusRank } from './call-status-rank';
import { type CallTransition, callIdentityFills } from './call-transition';
import { redisCallHashPrefixes, redisCallSnapshotFields, redisEventMarks } from './redis-call-hash';

/**
 * What this process last knew of a call's hash: enough to work out a transition's writes in
 * Node instead of in the apply step's Lua (decision 0073).
 */
export interface KnownRedisCall {
  /** The hash's `redisCallSnapshotFields`, in that order: its texts, null where it has none. */
  fields: (string | null)[];
  /** Per `callDetailNames`: the detail's stored position, null for none, undefined if not known. */
  positions: (string | null | undefined)[];
}

/** A transition worked out in Node, for the ingest step to check and write (decision 0073). */
export interface PlannedRedisCallTransition {
  outcome: 'changed' | 'ended' | 'enriched';
  /** The call after it. */
  after: KnownRedisCall;
  /**
   * The plan as the planned step reads it, after the event's own arguments (layout in
   * `redis-ingest-script.ts`, `plannedTransitionLua`).
   */
  args: string[];
}

const fieldIndex = new Map(redisCallSnapshotFields.map((name, index) => [name, index]));
const at = (name: string): number => fieldIndex.get(name)!;
const detailFieldIndex = callDetailNames.map((name) =>
  at(`${redisCallHashPrefixes.detail}${name}`),
);

/** The fields the planned step checks before it writes: unchanged since they were known. */
export const plannedTransitionGuardFields = [
  'version',
  'createdAt',
  'startedAt',
  'answeredAt',
] as const;

/**
 * The apply step's rules (`apply-call-transition-lua.ts`, numbered alike) on a call this process
 * knows, for a transition that changes it: the hash's writes, its expiry and what the indexes
 * need, as the Lua would decide them on the same hash, or undefined when the step must decide
 * (a guarded transition, an ignored one, a detail whose stored position is not known). `known`
 * undefined: a call this process does not know is taken for a new one (the step checks).
 *
 * `callJson` makes the JSON of the call's snapshot from its fields after the transition. The
 * planned step publishes with it, so the published snapshot and the one the store answers are
 * the same object's.
 */
export function planRedisCallTransition(
  known: KnownRedisCall | undefined,
  transition: CallTransition,
  callJson: (fields: readonly (string | null)[]) => string,
): PlannedRedisCallTransition | undefined {
  // The step writes times as the text Node sends (`String`), and works out the expiry in whole ms.
  if (
    transition.expectUpdatedAt !== undefined ||
    !Number.isSafeInteger(transition.at) ||
    !Number.isSafeInteger(transition.occurredAt)
  ) {
    return undefined;
  }
  const fields = known ? [...known.fields] : redisCallSnapshotFields.map(() => null);
  const positions = known ? [...known.positions] : callDetailNames.map(() => null);
  const value = (name: string): string | null => fields[at(name)]!;
  const exists = value('createdAt') !== null;
  const status = value('status') ?? undefined;
  const wasActive = isActiveStatus(status as CallTransition['status']);
  const previousBranchId = value('branchId');
  const guard = plannedTransitionGuardFields.map((name) => value(name) ?? '');
  const atText = String(transition.at);
  const occurredAtText = String(transition.occurredAt);

  const writes: string[] = [];
  const write = (name: string, text: string): void => {
    writes.push(name, text);
    const index = fieldIndex.get(name);
    if (index !== undefined) fields[index] = text;
  };
  if (!exists) {
    write('tenantId', transition.tenantId);
    write('callId', transition.callId);
    write('provider', transition.identity.provider);
    write('createdAt', atText);
  }
  const version = exists ? Number(value('version') ?? 0) || 0 : 0;

  // 3. Status and end events fill in the timeline.
  let startedChanged = false;
  if (transition.kind !== 'enrich') {
    const startedAt = value('startedAt');
    if (startedAt === null || transition.occurredAt < Number(startedAt)) {
      startedChanged = true;
      write('startedAt', occurredAtText);
    }
    const answeredAt = value('answeredAt');
    if (
      transition.status === 'in-progress' &&
      (answeredAt === null || transition.occurredAt < Number(answeredAt))
    ) {
      write('answeredAt', occurredAtText);
    }
  }

  // 4. End once; move forward only; enrich always. An ignored event is the step's to record.
  const currentRank = statusRank(status as CallTransition['status']);
  let outcome: PlannedRedisCallTransition['outcome'] = 'enriched';
  if (transition.kind === 'end') {
    if (currentRank === terminalStatusRank) return undefined;
    outcome = 'ended';
  } else if (transition.kind === 'status') {
    if (currentRank >= terminalStatusRank || statusRank(transition.status) <= currentRank) {
      return undefined;
    }
    outcome = 'changed';
  }

  // 5. Identity, details, status, bookkeeping and the expiry.
  let learnedBranchId: string | undefined;
  for (const name of callIdentityFills) {
    const filled = transition.identity[name];
    if (typeof filled === 'string' && filled !== '' && value(name) === null) {
      write(name, filled);
      if (name === 'branchId') learnedBranchId = filled;
    }
  }
  const details = transition.details as Record<string, unknown>;
  const position = `${transition.sequence === undefined ? '' : String(transition.sequence)}:${occurredAtText}:${transition.eventId}`;
  for (const [index, name] of callDetailNames.entries()) {
    const detail = details[name];
    if (detail === undefined) continue;
    const stored = positions[index];
    if (stored === undefined) return undefined;
    if (stored !== null && compareStoredPositions(position, stored) < 0) continue;
    write(`${redisCallHashPrefixes.detail}${name}`, JSON.stringify(detail));
    write(`${redisCallHashPrefixes.position}${name}`, position);
    positions[index] = position;
  }
  const statusAfter = outcome === 'enriched' ? status : transition.status;
  if (outcome !== 'enriched') {
    write('status', statusAfter!);
    if (!wasActive && isActiveStatus(statusAfter as CallTransition['status'])) {
      write('activationEventId', transition.eventId);
    }
  }
  if (outcome === 'ended') {
    write('endedAt', occurredAtText);
    write('endEventId', transition.eventId);
  }
  write('updatedAt', atText);
  // Published by the same step: done at once (decision 0030).
  write(`${redisCallHashPrefixes.eventMark}${transition.eventId}`, redisEventMarks.done);
  write('version', String(version + 1));
  const isActive = isActiveStatus(statusAfter as CallTransition['status']);
  const retentionMs = Math.ceil(transition.settings.endedCallRetentionMs);
  if (!isActive) write('expiresAt', String(transition.at + retentionMs));
  const expiry = !isActive ? 'x' : exists && !wasActive ? 'p' : '';

  const flag = (on: boolean): string => (on ? '1' : '0');
  const plan = [
    ...guard,
    outcome,
    `${flag(wasActive)}${flag(isActive)}${flag(startedChanged)}`,
    previousBranchId ?? '',
    learnedBranchId ?? '',
    value('startedAt') ?? '',
    value('answeredAt') ?? '',
    statusAfter ?? '',
    value('branchId') ?? '',
    value('agentId') ?? '',
    fields[detailFieldIndex[0]!] ?? '',
    expiry,
    callJson(fields),
    String(writes.length),
    ...writes,
  ];
  return { outcome, after: { fields, positions }, args: plan };
}

/**
 * A call as its published snapshot says it is, when it is active (an ended call's snapshot does
 * not tell a stored duration from a worked-out one): the detail positions are not in a snapshot,
 * so a detail it has is of unknown position.
 */
export function knownRedisCallOf(call: CallSnapshot): KnownRedisCall | undefined {
  if (!call.active) return undefined;
  const time = (iso: string | undefined): string | null =>
    iso === undefined ? null : String(Date.parse(iso));
  const text = (name: keyof CallSnapshot): string | null =>
    call[name] === undefined ? null : String(call[name]);
  const fields = redisCallSnapshotFields.map((): string | null => null);
  const set = (name: string, fieldText: string | null): void => {
    fields[at(name)] = fieldText;
  };
  for (const name of [
    'tenantId',
    'callId',
    'provider',
    'status',
    'branchId',
    'agentId',
    'userId',
    'direction',
    'from',
    'to',
    'version',
  ] as const) {
    set(name, text(name));
  }
  for (const name of ['startedAt', 'answeredAt', 'endedAt', 'createdAt', 'updatedAt'] as const) {
    set(name, time(call[name]));
  }
  const positions = callDetailNames.map((name): string | null | undefined => {
    const detail = (call as unknown as Record<string, unknown>)[name];
    if (detail === undefined) return null;
    set(`${redisCallHashPrefixes.detail}${name}`, JSON.stringify(detail));
    return undefined;
  });
  return { fields, positions };
}

/**
 * `compareCallPositions` on the stored text form, as the step's Lua compares them
 * (`call-position-lua.ts`): sequences when both have one, then times, then the ids' bytes.
 */
function compareStoredPositions(a: string, b: string): number {
  const [aSequence, aAt, aId] = splitPosition(a);
  const [bSequence, bAt, bId] = splitPosition(b);
  if (aSequence !== undefined && bSequence !== undefined && aSequence !== bSequence) {
    return aSequence < bSequence ? -1 : 1;
  }
  if (aAt !== bAt) return aAt < bAt ? -1 : 1;
  return Buffer.compare(Buffer.from(aId), Buffer.from(bId));
}

function splitPosition(text: string): [number | undefined, number, string] {
  const first = text.indexOf(':');
  const second = text.indexOf(':', first + 1);
  const sequence = text.slice(0, first);
  return [
    sequence === '' ? undefined : Number(sequence),
    Number(text.slice(first + 1, second)),
    text.slice(second + 1),
  ];
}
