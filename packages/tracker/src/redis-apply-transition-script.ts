import { defineRedisScript, type RedisScript } from '@calltrack/redis-script';
import { analyticsBucketsLua } from './analytics-buckets-lua';
import { applyCallTransitionLua } from './apply-call-transition-lua';
import { callDetailNames } from './call-details';
import { callIndexesLua } from './call-indexes-lua';
import { callPositionLua } from './call-position-lua';
import { callStatusRankLua } from './call-status-rank-lua';
import type { CallApplyOutcome } from './call-store';
import { type CallTransition, callIdentityFills } from './call-transition';
import { composeLuaScript, defineLuaFragment, type LuaFragment } from './lua-fragment';
import { redisCallHashLua, redisCallSnapshotLua } from './redis-call-hash-lua';
import { toLuaLiteral } from './to-lua-literal';

/** In the reply, the active count when the transition did not change it. */
export const noActiveCount = -1;

/**
 * The seam where a fragment may act on an applied transition inside the same script, after the
 * call and its indexes were written and before the reply (decision 0017). (The ingest script,
 * which applies and publishes a batch of events, has a body of its own: `redis-ingest-script.ts`,
 * decisions 0030 and 0038.) It defines
 * `afterCallTransition(base, callKey, transition, applied, snapshot, argv)`: `snapshot` is the
 * call as the reply carries it (`HMGET` of `redisCallSnapshotFields`), `argv` the script's
 * arguments after the ones the apply step reads (`ARGV[argvOffset..]`, see
 * {@link encodeApplyTransitionArgs}). What it returns is the reply's last element (the default
 * returns nothing); when it returns `true` as a second value, its reply carries the snapshot and
 * the reply's snapshot is left empty.
 */
export const noAfterCallTransitionLua = defineLuaFragment(
  'after-call-transition',
  `
local function afterCallTransition(base, callKey, transition, applied, snapshot, argv) end
`,
);

/**
 * The transition as the script reads it: one argument per field, in this order, '' for an absent
 * one (no JSON to write in Node and decode with cjson in Redis, for a few µs an event).
 * Times and the sequence are decimal text: the script writes them back to Redis and into
 * positions as they came (Lua would write a large number with an exponent); settings are whole
 * ms. `publishedInScript` ('1' or ''): the script publishes the event in the same step (the ingest
 * script, decision 0030), so an applied event is marked done at once, and a `call.ended` is neither kept
 * nor put in the outbox. The identity fields follow `provider` in `callIdentityFills`' order.
 */
export const redisTransitionArgFields = [
  'tenantId',
  'callId',
  'eventId',
  'kind',
  'status',
  'occurredAt',
  'sequence',
  'at',
  'expectUpdatedAt',
  'publishedInScript',
  'publishLeaseMs',
  'endedCallRetentionMs',
  'minuteRetentionMs',
  'hourRetentionMs',
  'dayRetentionMs',
  'provider',
  ...callIdentityFills,
] as const;

/**
 * `decodeTransitionArgs(first)`: the transition from the arguments at `ARGV[first..]` (see
 * {@link redisTransitionArgFields}), as the rest of the script reads it: absent fields nil, times
 * as text plus `atMs` and `occurredAtMs` as numbers, `identity` and `settings` as tables,
 * `publishedInScript` true or nil.
 */
const transitionArgsLua = defineLuaFragment(
  'transition-args',
  `
local function optionalArg(value)
  if value == '' then return nil end
  return value
end

local function decodeTransitionArgs(first)
  local identity = {
    provider = ARGV[first + ${redisTransitionArgFields.indexOf('provider')}],
${callIdentityFills
  .map(
    (name) => `    ${name} = optionalArg(ARGV[first + ${redisTransitionArgFields.indexOf(name)}]),`,
  )
  .join('\n')}
  }
  local transition = {
${redisTransitionArgFields
  .slice(0, redisTransitionArgFields.indexOf('publishedInScript'))
  .map((name, index) => `    ${name} = optionalArg(ARGV[first + ${index}]),`)
  .join('\n')}
    publishedInScript = ARGV[first + ${redisTransitionArgFields.indexOf('publishedInScript')}] == '1' or nil,
    identity = identity,
    settings = {
      publishLeaseMs = tonumber(ARGV[first + ${redisTransitionArgFields.indexOf('publishLeaseMs')}]),
      endedCallRetentionMs = tonumber(ARGV[first + ${redisTransitionArgFields.indexOf('endedCallRetentionMs')}]),
      analyticsRetentionMs = {
        minute = tonumber(ARGV[first + ${redisTransitionArgFields.indexOf('minuteRetentionMs')}]),
        hour = tonumber(ARGV[first + ${redisTransitionArgFields.indexOf('hourRetentionMs')}]),
        day = tonumber(ARGV[first + ${redisTransitionArgFields.indexOf('dayRetentionMs')}]),
      },
    },
  }
  transition.atMs = tonumber(transition.at)
  transition.occurredAtMs = tonumber(transition.occurredAt)
  return transition
end
`,
);

/**
 * The body: reads the arguments, applies the transition to the call, keeps the indexes, runs the
 * seam, replies. KEYS[1] the call hash; ARGV[1] the tenant's key base (`<prefix>:{<tenant>}:`);
 * then the transition, one argument per field ({@link redisTransitionArgFields}); then the
 * `call.ended` JSON to keep for the outbox, or ''; the number n of details; n detail name and
 * JSON value pairs; anything after belongs to the seam. Keys built from ARGV[1] share the
 * tenant's hash tag, so they live in KEYS[1]'s slot on Redis Cluster.
 *
 * Replies `{ outcome, activeCount or noActiveCount, activated (1 or 0), snapshot, seam reply }`
 * (the seam's reply absent when it returned nothing; the snapshot empty when the seam's reply
 * carries it).
 */
const applyTransitionBodyLua = defineLuaFragment(
  'apply-transition-body',
  `
local noActiveCount = ${toLuaLiteral(noActiveCount)}
local base = ARGV[1]
local callKey = KEYS[1]
local transition = decodeTransitionArgs(2)
local detailsAt = 2 + ${redisTransitionArgFields.length}
transition.endEvent = ARGV[detailsAt]
local details = {}
local argvOffset = detailsAt + 2 + 2 * tonumber(ARGV[detailsAt + 1])
for index = detailsAt + 2, argvOffset - 1, 2 do
  details[#details + 1] = { name = ARGV[index], json = ARGV[index + 1] }
end
local argv = {}
for index = argvOffset, #ARGV do argv[#argv + 1] = ARGV[index] end

local applied = applyCallTransition(callKey, transition, details)
local activeCount, activated = updateCallIndexes(base, callKey, transition, applied)
local snapshot = readSnapshot(callKey)
local seamReply, seamCarriesSnapshot = afterCallTransition(base, callKey, transition, applied, snapshot, argv)
if seamCarriesSnapshot then snapshot = {} end
return { applied.outcome, activeCount or noActiveCount, activated and 1 or 0, snapshot, seamReply }
`,
);

/**
 * The fragments of the apply script in order: each may use those before it. Mirrors:
 * `transition-args` ↔ {@link encodeApplyTransitionArgs}, `redis-call-hash` and `redis-call-snapshot` ↔ `StoredCall` and `toCallSnapshot`,
 * `call-status-rank` ↔ `call-status-rank.ts`, `call-position` ↔ `call-position.ts`,
 * `analytics-buckets` ↔ `create-memory-analytics.ts`, `apply-call-transition` ↔
 * `apply-call-transition.ts`, `call-indexes` ↔ the bookkeeping in `create-memory-call-store.ts`.
 */
export const applyTransitionFragments: readonly LuaFragment[] = [
  transitionArgsLua,
  redisCallHashLua,
  redisCallSnapshotLua,
  callStatusRankLua,
  callPositionLua,
  analyticsBucketsLua,
  applyCallTransitionLua,
  callIndexesLua,
];

/**
 * Composes the apply script with a fragment in the seam (default: none), after the fragments it
 * uses (`seamUses`, composed after the apply step's own). The fragment must be named
 * `after-call-transition` and define `afterCallTransition` (see {@link noAfterCallTransitionLua}).
 */
export function composeApplyTransitionScript(
  afterCallTransition: LuaFragment = noAfterCallTransitionLua,
  seamUses: readonly LuaFragment[] = [],
): string {
  if (afterCallTransition.name !== noAfterCallTransitionLua.name) {
    throw new Error('The seam fragment is named "after-call-transition".');
  }
  return composeLuaScript([
    ...applyTransitionFragments,
    ...seamUses,
    afterCallTransition,
    applyTransitionBodyLua,
  ]);
}

/** The apply script the Redis store runs. */
export const applyTransitionScript: RedisScript = defineRedisScript(composeApplyTransitionScript());

/**
 * The arguments of the apply script for `transition` (layout on the script's body above),
 * followed by `seamArgs` (the seam's, or the ingest script's). `publishedInScript`: the script
 * publishes the event
 * (see {@link redisTransitionArgFields}); the `call.ended` is then not sent to be kept.
 */
export function encodeApplyTransitionArgs(
  base: string,
  transition: CallTransition,
  seamArgs: readonly string[] = [],
  publishedInScript = false,
): string[] {
  const { settings, identity } = transition;
  // Whole ms: Redis takes only integers for expiries.
  const args = [
    base,
    transition.tenantId,
    transition.callId,
    transition.eventId,
    transition.kind,
    transition.status ?? '',
    String(transition.occurredAt),
    transition.sequence === undefined ? '' : String(transition.sequence),
    String(transition.at),
    transition.expectUpdatedAt === undefined ? '' : String(transition.expectUpdatedAt),
    publishedInScript ? '1' : '',
    String(Math.ceil(settings.publishLeaseMs)),
    String(Math.ceil(settings.endedCallRetentionMs)),
    String(Math.ceil(settings.analyticsRetentionMs.minute)),
    String(Math.ceil(settings.analyticsRetentionMs.hour)),
    String(Math.ceil(settings.analyticsRetentionMs.day)),
    identity.provider,
  ];
  for (const name of callIdentityFills) {
    const value = identity[name];
    args.push(typeof value === 'string' ? value : '');
  }
  args.push(transition.event && !publishedInScript ? JSON.stringify(transition.event) : '');
  const countAt = args.length;
  args.push('0');
  let count = 0;
  for (const name of callDetailNames) {
    const value = (transition.details as Record<string, unknown>)[name];
    if (value !== undefined) {
      args.push(name, JSON.stringify(value));
      count += 1;
    }
  }
  args[countAt] = String(count);
  for (const arg of seamArgs) args.push(arg);
  return args;
}

/** The apply script's reply, decoded up to the snapshot (decoded by the store). */
export interface ApplyTransitionReply {
  outcome: CallApplyOutcome;
  activeCount?: number;
  activated: boolean;
  snapshot: (string | null)[];
  /** What the seam returned, if anything. */
  seam?: unknown;
}

/** Reads the apply script's reply. */
export function decodeApplyTransitionReply(reply: unknown): ApplyTransitionReply {
  const [outcome, activeCount, activated, snapshot, seam] = reply as [
    CallApplyOutcome,
    number,
    number,
    (string | null)[],
    unknown,
  ];
  return {
    outcome,
    ...(activeCount === noActiveCount ? {} : { activeCount }),
    activated: activated === 1,
    snapshot,
    ...(seam === undefined ? {} : { seam }),
  };
}
