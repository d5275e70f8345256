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

/** Where each snapshot field is in `KnownRedisCall.fields` (as in the step's `HMGET`). */
const fieldAt = (name: string): number => {
  const index = redisCallSnapshotFields.indexOf(name);
  if (index === -1) throw new Error(`${name} is not a snapshot field`);
  return index;
};
const field = {
  tenantId: fieldAt('tenantId'),
  callId: fieldAt('callId'),
  provider: fieldAt('provider'),
  status: fieldAt('status'),
  branchId: fieldAt('branchId'),
  agentId: fieldAt('agentId'),
  startedAt: fieldAt('startedAt'),
  answeredAt: fieldAt('answeredAt'),
  endedAt: fieldAt('endedAt'),
  createdAt: fieldAt('createdAt'),
  updatedAt: fieldAt('updatedAt'),
  version: fieldAt('version'),
} as const;
const identityFills = callIdentityFills.map((name) => ({ name, index: fieldAt(name) }));
const detailFields = callDetailNames.map((name) => ({
  name,
  detail: `${redisCallHashPrefixes.detail}${name}`,
  position: `${redisCallHashPrefixes.position}${name}`,
  index: fieldAt(`${redisCallHashPrefixes.detail}${name}`),
}));
const durationField = fieldAt(`${redisCallHashPrefixes.detail}durationMs`);
const noFields: readonly null[] = redisCallSnapshotFields.map(() => null);
const noPositions: readonly null[] = callDetailNames.map(() => null);

/** The fields the planned step checks before it writes: unchanged since they were known. */
export const plannedTransitionGuardFields = [
  'version',
  'createdAt',
  'startedAt',
  'answeredAt',
] as const;
const guardFields = plannedTransitionGuardFields.map(fieldAt);

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
  const fields = (known ? known.fields : noFields).slice();
  const positions = (known ? known.positions : noPositions).slice();
  const exists = fields[field.createdAt] !== null;
  const status = (fields[field.status] ?? undefined) as CallTransition['status'];
  const wasActive = isActiveStatus(status);
  const previousBranchId = fields[field.branchId];
  const guard = guardFields.map((index) => fields[index] ?? '');
  const atText = String(transition.at);
  const occurredAtText = String(transition.occurredAt);

  // Hash writes, as name and text pairs; a snapshot field's write goes into fields too.
  const writes: string[] = [];
  const write = (name: string, text: string, index: number): void => {
    writes.push(name, text);
    if (index >= 0) fields[index] = text;
  };
  if (!exists) {
    write('tenantId', transition.tenantId, field.tenantId);
    write('callId', transition.callId, field.callId);
    write('provider', transition.identity.provider, field.provider);
    write('createdAt', atText, field.createdAt);
  }
  const version = exists ? Number(fields[field.version] ?? 0) || 0 : 0;

  // 3. Status and end events fill in the timeline.
  let startedChanged = false;
  if (transition.kind !== 'enrich') {
    const startedAt = fields[field.startedAt];
    if (startedAt === null || transition.occurredAt < Number(startedAt)) {
      startedChanged = true;
      write('startedAt', occurredAtText, field.startedAt);
    }
    const answeredAt = fields[field.answeredAt];
    if (
      transition.status === 'in-progress' &&
      (answeredAt === null || transition.occurredAt < Number(answeredAt))
    ) {
      write('answeredAt', occurredAtText, field.answeredAt);
    }
  }

  // 4. End once; move forward only; enrich always. An ignored event is the step's to record.
  const currentRank = statusRank(status);
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
  for (const { name, index } of identityFills) {
    const filled = transition.identity[name];
    if (typeof filled === 'string' && filled !== '' && fields[index] === null) {
      write(name, filled, index);
      if (name === 'branchId') learnedBranchId = filled;
    }
  }
  const details = transition.details as Record<string, unknown>;
  let position: string | undefined;
  for (let slot = 0; slot < detailFields.length; slot += 1) {
    const { name, detail, position: positionName, index } = detailFields[slot]!;
    const value = details[name];
    if (value === undefined) continue;
    const stored = positions[slot];
    if (stored === undefined) return undefined;
    position ??= `${transition.sequence === undefined ? '' : String(transition.sequence)}:${occurredAtText}:${transition.eventId}`;
    if (stored !== null && compareStoredPositions(position, stored) < 0) continue;
    write(detail, JSON.stringify(value), index);
    write(positionName, position, -1);
    positions[slot] = position;
  }
  const statusAfter = outcome === 'enriched' ? status : transition.status;
  const isActive = isActiveStatus(statusAfter);
  if (outcome !== 'enriched') {
    write('status', statusAfter!, field.status);
    if (!wasActive && isActive) write('activationEventId', transition.eventId, -1);
  }
  if (outcome === 'ended') {
    write('endedAt', occurredAtText, field.endedAt);
    write('endEventId', transition.eventId, -1);
  }
  write('updatedAt', atText, field.updatedAt);
  // Published by the same step: done at once (decision 0030).
  write(`${redisCallHashPrefixes.eventMark}${transition.eventId}`, redisEventMarks.done, -1);
  write('version', String(version + 1), field.version);
  const retentionMs = Math.ceil(transition.settings.endedCallRetentionMs);
  if (!isActive) write('expiresAt', String(transition.at + retentionMs), -1);
  const expiry = !isActive ? 'x' : exists && !wasActive ? 'p' : '';

  const flag = (on: boolean): string => (on ? '1' : '0');
  const plan = [
    ...guard,
    outcome,
    `${flag(wasActive)}${flag(isActive)}${flag(startedChanged)}`,
    previousBranchId ?? '',
    learnedBranchId ?? '',
    fields[field.startedAt] ?? '',
    fields[field.answeredAt] ?? '',
    statusAfter ?? '',
    fields[field.branchId] ?? '',
    fields[field.agentId] ?? '',
    fields[durationField] ?? '',
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
  const fields: (string | null)[] = noFields.slice();
  const set = (name: string, fieldText: string | null): void => {
    fields[fieldAt(name)] = fieldText;
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
