import { defineRedisScript, type RedisScript } from '@calltrack/redis-script';
import { analyticsBucketsLua } from './analytics-buckets-lua';
import { applyCallTransitionLua, needsKeysOutcome } from './apply-call-transition-lua';
import { callDetailNames } from './call-details';
import { callIndexesLua } from './call-indexes-lua';
import { callPositionLua } from './call-position-lua';
import { callStatusRankLua } from './call-status-rank-lua';
import type { CallApplyOutcome } from './call-store';
import {
  type CallTransition,
  type CallTransitionSettings,
  callIdentityFills,
} from './call-transition';
import { composeLuaScript, defineLuaFragment, type LuaFragment } from './lua-fragment';
import { redisAnalyticsBucketLayout } from './redis-analytics-bucket';
import { redisCallHashLua } from './redis-call-hash-lua';
import { toLuaLiteral } from './to-lua-literal';

/** The identity fields the transition's arguments carry, in order. */
const transitionIdentityNames = ['provider', ...callIdentityFills] as const;

/**
 * How many arguments the transition takes, the key base included: base, tenant, call, event,
 * kind, status, occurredAt, sequence, at, expectUpdatedAt, publishedInScript, the ISO texts of
 * at and occurredAt, the settings, then the identity fields.
 */
const transitionArgCount = 14 + transitionIdentityNames.length;

/** How many sets of settings a Redis Functions library keeps read (then it forgets them all). */
const settingsKept = 64;

/** In the reply, the active count when the transition did not change it. */
export const noActiveCount = -1;

/**
 * The seam where a fragment may act on an applied transition inside the same script, after the
 * call and its indexes were written and before the reply: where the bus's publish is composed in,
 * so that one script (one round trip) applies and publishes (decisions 0017, 0030). It defines
 * `afterCallTransition(base, callKey, transition, applied, snapshot, argv, keys)`: `snapshot` is
 * the call as the reply carries it (its `redisCallSnapshotFields` after the transition, as
 * `HMGET` reads them), `argv` the script's arguments after the ones the apply step reads
 * (`args[argvOffset..]`, see {@link encodeApplyTransitionArgs}), `keys` the script's keys (the
 * call's first, then any the seam declares for its own writes). What it returns is the reply's last element (the default
 * returns nothing); when it returns `true` as a second value, its reply carries the snapshot and
 * the reply's snapshot is left empty.
 */
export const noAfterCallTransitionLua = defineLuaFragment(
  'after-call-transition',
  `
local function afterCallTransition(base, callKey, transition, applied, snapshot, argv, keys) end
`,
);

/**
 * The body: `applyTransitionCall(keys, args)` reads the arguments, applies the transition to the
 * call, keeps the indexes, runs the seam, replies. keys[1] the call hash, then the seam's, then
 * the indexes the step may touch ({@link applyTransitionIndexKeys}); args as
 * {@link encodeApplyTransitionArgs} lays them out: the tenant's key base
 * (`<prefix>:{<tenant>}:`), the transition's fields, the `call.ended` JSON to keep for the outbox
 * or '', the number n of details, n detail name and JSON value pairs; anything after belongs to
 * the seam. Keys built from args[1] share the tenant's hash tag, so they live in keys[1]'s slot
 * on Redis Cluster, and each one the step touches is declared, so that while that slot is being
 * migrated Redis runs the step only on a node that holds all of them (else TRYAGAIN), instead of
 * letting it write a second copy of an index that already moved. The call's own branch, which
 * only the script reads, may differ from the event's that the caller declared: then the step
 * writes nothing and replies `{ 'needs-keys', keys }`, to be run again with those declared.
 * A function, so that the same fragments make a script (which ends in `return
 * applyTransitionCall(KEYS, ARGV)`) and a Redis Functions library (which registers it).
 *
 * Replies `{ outcome, activeCount or noActiveCount, flags, snapshot, seam reply }`, flags 1 when
 * the call became active plus 2 when the analytics log is due to be folded (the seam's reply
 * absent when it returned nothing; the snapshot empty when the seam's reply carries it).
 */
const applyTransitionBodyLua = defineLuaFragment(
  'apply-transition-body',
  `
local noActiveCount = ${toLuaLiteral(noActiveCount)}
local needsKeysOutcome = ${toLuaLiteral(needsKeysOutcome)}
local transitionIdentityNames = ${toLuaLiteral(transitionIdentityNames)}
local transitionArgCount = ${transitionArgCount}

-- '' stands for an absent value in the transition's arguments (no field of a transition may be
-- empty: the event's schema refuses empty strings).
local function optionalArg(value)
  if value == '' then return nil end
  return value
end

-- The settings, from their text (encodeApplyTransitionSettings): read once per text and kept,
-- as a Redis Functions library keeps its tables between calls (a script reads them every call).
-- Converting text to numbers is among the step's dearest Lua (decision 72).
local settingsByText = {}
local settingsCount = 0
local function readSettings(text)
  local settings = settingsByText[text]
  if settings ~= nil then return settings end
  local values = {}
  for value in string.gmatch(text, '[^,]+') do values[#values + 1] = tonumber(value) end
  settings = {
    publishLeaseMs = values[1],
    endedCallRetentionMs = values[2],
    staleAfterMs = values[3],
    answeredStaleAfterMs = values[4],
    analyticsRetentionMs = { minute = values[5], hour = values[6], day = values[7] },
  }
  if settingsCount >= ${settingsKept} then
    settingsByText = {}
    settingsCount = 0
  end
  settingsByText[text] = settings
  settingsCount = settingsCount + 1
  return settings
end

-- The transition from its positional arguments (layout on encodeApplyTransitionArgs): read in
-- place, no JSON to decode. Times and the sequence stay text (they are written back as they
-- came); atMs and occurredAtMs are their numbers, atIso and occurredAtIso their ISO texts (the
-- snapshot's JSON takes them as they are).
local function readTransitionArgs(args)
  local identity = {}
  for index, name in ipairs(transitionIdentityNames) do
    identity[name] = optionalArg(args[14 + index])
  end
  local stepFlags = args[11]
  return {
    tenantId = args[2],
    callId = args[3],
    eventId = args[4],
    kind = args[5],
    status = optionalArg(args[6]),
    occurredAt = args[7],
    occurredAtMs = tonumber(args[7]),
    sequence = optionalArg(args[8]),
    at = args[9],
    atMs = tonumber(args[9]),
    expectUpdatedAt = optionalArg(args[10]),
    publishedInScript = stepFlags == 'p' or stepFlags == 'pk',
    keysDeclared = stepFlags == 'k' or stepFlags == 'pk',
    atIso = args[12],
    occurredAtIso = args[13],
    settings = readSettings(args[14]),
    identity = identity,
    endEvent = args[transitionArgCount + 1],
  }
end

-- The declared keys of a step whose caller declares only the call's and the seam's keys (made
-- at the first call: a library's top level may not call setmetatable).
local everyKeyDeclared = nil
local function noKeysMissing() return nil end

local function applyTransitionCall(keys, args)
  local base = args[1]
  local callKey = keys[1]
  local transition = readTransitionArgs(args)
  local details = {}
  local detailCount = tonumber(args[transitionArgCount + 2])
  local argvOffset = transitionArgCount + 3 + 2 * detailCount
  for index = transitionArgCount + 3, argvOffset - 1, 2 do
    details[#details + 1] = { name = args[index], json = args[index + 1] }
  end
  local argv = {}
  for index = argvOffset, #args do argv[#argv + 1] = args[index] end

  -- The set of the step's keys, asked a few times a step (for the branch indexes it touches): a
  -- key is looked for in keys, from the end where the branch's are, rather than every key put
  -- in a table on every step. A caller that declares only the call's and the seam's keys (a
  -- server that is not a Cluster) has the step check none, nor work out the branch keys.
  everyKeyDeclared = everyKeyDeclared or setmetatable({}, { __index = function() return true end })
  local declared = everyKeyDeclared
  local undeclaredKeys = noKeysMissing
  if transition.keysDeclared then
    declared = setmetatable({}, { __index = function(_, key)
      for index = #keys, 1, -1 do
        if keys[index] == key then return true end
      end
      return false
    end })
    undeclaredKeys = function(decided)
      local missing = nil
      for _, key in ipairs(callBranchIndexKeys(base, decided)) do
        if not declared[key] then
          missing = missing or {}
          missing[#missing + 1] = key
        end
      end
      return missing
    end
  end

  local applied = applyCallTransition(callKey, transition, details, undeclaredKeys)
  if applied.outcome == needsKeysOutcome then return { needsKeysOutcome, applied.missingKeys } end
  local activeCount, activated, foldDue = updateCallIndexes(base, callKey, transition, applied, declared)
  local snapshot = applied.snapshot
  local seamReply, seamCarriesSnapshot = afterCallTransition(base, callKey, transition, applied,
    snapshot, argv, keys)
  if seamCarriesSnapshot then snapshot = {} end
  local flags = (activated and 1 or 0) + (foldDue and 2 or 0)
  return { applied.outcome, activeCount or noActiveCount, flags, snapshot, seamReply }
end
`,
);

/** The script's last line: runs the body on the script's own keys and arguments. */
const applyTransitionScriptRunLua = defineLuaFragment(
  'apply-transition-run',
  'return applyTransitionCall(KEYS, ARGV)',
);

/**
 * The last line of a Redis Functions library of the apply step: registers the body as `name`
 * (`FCALL name <n> <call key> <seam keys> <arguments>`: the script's keys and arguments).
 */
export function registerApplyTransitionLua(name: string): LuaFragment {
  if (!/^[A-Za-z0-9_]+$/.test(name)) throw new Error(`Not a Redis function name: ${name}`);
  return defineLuaFragment(
    'apply-transition-register',
    `redis.register_function('${name}', function(keys, args) return applyTransitionCall(keys, args) end)`,
  );
}

/**
 * The fragments of the apply script in order: each may use those before it. Mirrors:
 * `redis-call-hash` and `redis-call-snapshot` ↔ `StoredCall` and `toCallSnapshot`,
 * `call-status-rank` ↔ `call-status-rank.ts`, `call-position` ↔ `call-position.ts`,
 * `analytics-buckets` ↔ `create-memory-analytics.ts`, `apply-call-transition` ↔
 * `apply-call-transition.ts`, `call-indexes` ↔ the bookkeeping in `create-memory-call-store.ts`.
 */
export const applyTransitionFragments: readonly LuaFragment[] = [
  redisCallHashLua,
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
 * `run` is the last fragment: by default the script's `return applyTransitionCall(KEYS, ARGV)`;
 * a Redis Functions library registers `applyTransitionCall` instead
 * ({@link registerApplyTransitionLua}).
 */
export function composeApplyTransitionScript(
  afterCallTransition: LuaFragment = noAfterCallTransitionLua,
  seamUses: readonly LuaFragment[] = [],
  run: LuaFragment = applyTransitionScriptRunLua,
): string {
  if (afterCallTransition.name !== noAfterCallTransitionLua.name) {
    throw new Error('The seam fragment is named "after-call-transition".');
  }
  return composeLuaScript([
    ...applyTransitionFragments,
    ...seamUses,
    afterCallTransition,
    applyTransitionBodyLua,
    run,
  ]);
}

/** The apply script the Redis store runs. */
export const applyTransitionScript: RedisScript = defineRedisScript(composeApplyTransitionScript());

/**
 * The arguments of the apply script for `transition`, positional (Lua reads them in place; a
 * transition decoded from JSON cost Redis about a tenth of the step, decision 71), then
 * `seamArgs` for the seam fragment:
 *
 * 1. the tenant's key base; tenantId, callId, eventId, kind, status; occurredAt, sequence, at,
 *    expectUpdatedAt as decimal text (the script writes them back as they came: Lua would write
 *    a large number with an exponent); the step's flags: `p` when the seam publishes the event
 *    in the same script (`publishedInScript`, decision 0030: an applied event is marked done at
 *    once, and a `call.ended` is neither kept nor put in the outbox), `k` when the keys include
 *    every index the step may touch (`keysDeclared`, Redis Cluster; else it checks none of
 *    them); at and occurredAt as ISO 8601 text;
 *    the settings in one text ({@link encodeApplyTransitionSettings}); the identity
 *    (`provider`, then `callIdentityFills`). '' stands for an absent value.
 * 2. the `call.ended` JSON to keep for the outbox, or '';
 * 3. the number n of details, then n detail name and JSON value pairs.
 */
export function encodeApplyTransitionArgs(
  base: string,
  transition: CallTransition,
  seamArgs: readonly string[] = [],
  publishedInScript = false,
  keysDeclared = true,
): string[] {
  const { settings, identity } = transition;
  const optional = (value: number | string | undefined): string =>
    value === undefined ? '' : String(value);
  const args: string[] = [
    base,
    transition.tenantId,
    transition.callId,
    transition.eventId,
    transition.kind,
    optional(transition.status),
    String(transition.occurredAt),
    optional(transition.sequence),
    String(transition.at),
    optional(transition.expectUpdatedAt),
    `${publishedInScript ? 'p' : ''}${keysDeclared ? 'k' : ''}`,
    trackerIsoTime(transition.at),
    new Date(transition.occurredAt).toISOString(),
    encodeApplyTransitionSettings(settings),
  ];
  for (const name of transitionIdentityNames) {
    const value = identity[name];
    args.push(typeof value === 'string' ? value : '');
  }
  args.push(transition.event && !publishedInScript ? JSON.stringify(transition.event) : '');
  const details: string[] = [];
  for (const name of callDetailNames) {
    const value = (transition.details as Record<string, unknown>)[name];
    if (value !== undefined) details.push(name, JSON.stringify(value));
  }
  args.push(String(details.length / 2), ...details, ...seamArgs);
  return args;
}

/** The last tracker time's ISO text: events that arrive together share their millisecond. */
let lastTrackerTime = { ms: Number.NaN, iso: '' };

function trackerIsoTime(ms: number): string {
  if (ms !== lastTrackerTime.ms) lastTrackerTime = { ms, iso: new Date(ms).toISOString() };
  return lastTrackerTime.iso;
}

/** The settings' text of each settings object, made once. */
const settingsTexts = new WeakMap<CallTransitionSettings, string>();

/**
 * The settings the apply step uses, as one text of whole ms (Redis takes only integers for
 * expiries), comma-separated: publish lease, ended call retention, stale after, answered stale
 * after, analytics retention per minute, hour, day. One text rather than seven arguments: the
 * script reads each text once (decision 72).
 */
export function encodeApplyTransitionSettings(settings: CallTransitionSettings): string {
  let text = settingsTexts.get(settings);
  if (text === undefined) {
    text = [
      settings.publishLeaseMs,
      settings.endedCallRetentionMs,
      settings.staleAfterMs,
      settings.answeredStaleAfterMs,
      settings.analyticsRetentionMs.minute,
      settings.analyticsRetentionMs.hour,
      settings.analyticsRetentionMs.day,
    ]
      .map((ms) => String(Math.ceil(ms)))
      .join(',');
    settingsTexts.set(settings, text);
  }
  return text;
}

/** The apply script's reply, decoded up to the snapshot (decoded by the store). */
export interface ApplyTransitionReply {
  outcome: CallApplyOutcome;
  activeCount?: number;
  activated: boolean;
  /** The analytics log is long enough to be folded (the step does not fold it). */
  foldDue: boolean;
  snapshot: (string | null)[];
  /** What the seam returned, if anything. */
  seam?: unknown;
}

/**
 * The reply of a step that wrote nothing because it would touch keys it was not given (the
 * call's branch differs from the event's): run it again with `missingKeys` declared too.
 */
export interface ApplyTransitionNeedsKeys {
  outcome: typeof needsKeysOutcome;
  missingKeys: string[];
}

/** Reads the apply script's reply. */
export function decodeApplyTransitionReply(
  reply: unknown,
): ApplyTransitionReply | ApplyTransitionNeedsKeys {
  const [outcome, activeCount, flags, snapshot, seam] = reply as [
    CallApplyOutcome | typeof needsKeysOutcome,
    number,
    number,
    (string | null)[],
    unknown,
  ];
  if (outcome === needsKeysOutcome) {
    return { outcome, missingKeys: activeCount as unknown as string[] };
  }
  return {
    outcome,
    ...(activeCount === noActiveCount ? {} : { activeCount }),
    activated: (flags & 1) === 1,
    foldDue: (flags & 2) === 2,
    snapshot,
    ...(seam === undefined ? {} : { seam }),
  };
}

/**
 * The tenant's indexes an apply step may touch besides the call hash, which the step declares
 * after the call's key and the seam's (see the body above): the fixed ones (`active`, `branches`,
 * `stale`, `outbox`, `ended`, the analytics log) and the branch's (`active:branch:<b>`,
 * `ended:branch:<b>`) of the event's branch when it has one. The analytics buckets are written by
 * the fold, not the step.
 */
export function applyTransitionIndexKeys(base: string, branchId: string | undefined): string[] {
  const keys = applyTransitionFixedIndexes.map((name) => `${base}${name}`);
  if (branchId !== undefined) {
    keys.push(`${base}active:branch:${branchId}`, `${base}ended:branch:${branchId}`);
  }
  return keys;
}

const applyTransitionFixedIndexes = [
  'active',
  'branches',
  'stale',
  'outbox',
  'ended',
  redisAnalyticsBucketLayout.logKey,
] as const;
