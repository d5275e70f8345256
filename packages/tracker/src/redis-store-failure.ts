import { CallTrackError } from '@calltrack/core';
import { redisReplyCode, toRedisStoreError } from '@calltrack/core/internal';

/**
 * The keys a failed ioredis command named, before its arguments are redacted: a plain command's
 * first argument, a script's or a function's `KEYS`. None for a transaction (its errors carry no
 * command) or an unknown shape.
 */
export function redisCommandKeys(error: unknown): string[] {
  const command = (error as { command?: { name?: unknown; args?: unknown } } | null)?.command;
  if (command == null || !Array.isArray(command.args)) return [];
  const args = command.args.map(String);
  const name = String(command.name).toLowerCase();
  if (name === 'evalsha' || name === 'eval' || name === 'fcall' || name === 'fcall_ro') {
    const count = Number(args[1]);
    return Number.isInteger(count) && count > 0 ? args.slice(2, 2 + count) : [];
  }
  return args.length > 0 ? [args[0] as string] : [];
}

/** What the store keeps under a key, named for a message: its kind and its Redis type. */
export interface RedisStoreKeyKind {
  kind: string;
  type: 'hash' | 'zset' | 'set' | 'string';
}

/** Names a key of the store's layout (see `createRedisCallStore`), or undefined for another. */
export function redisStoreKeyKind(prefix: string, key: string): RedisStoreKeyKind | undefined {
  if (key === `${prefix}:tenants`) return { kind: 'tenants set', type: 'set' };
  if (!key.startsWith(`${prefix}:{`)) return undefined;
  const end = key.indexOf('}:', prefix.length + 2);
  if (end < 0) return undefined;
  const name = key.slice(end + 2);
  if (name.startsWith('call:')) return { kind: 'call hash', type: 'hash' };
  if (name === 'branches') return { kind: 'branch count index (hash)', type: 'hash' };
  if (name === 'active' || name.startsWith('active:branch:')) {
    return { kind: 'active-call index (sorted set)', type: 'zset' };
  }
  if (name === 'ended' || name.startsWith('ended:branch:')) {
    return { kind: 'ended-call index (sorted set)', type: 'zset' };
  }
  if (name === 'stale') return { kind: 'stale-call index (sorted set)', type: 'zset' };
  if (name === 'outbox') return { kind: 'outbox index (sorted set)', type: 'zset' };
  if (name.startsWith('an:')) {
    return name.endsWith(':agents')
      ? { kind: 'analytics agent set', type: 'set' }
      : { kind: 'analytics bucket (hash)', type: 'hash' };
  }
  if (name.startsWith('alert:')) return { kind: 'alert cooldown', type: 'string' };
  return undefined;
}

/** What {@link toRedisStoreFailure} needs to say what failed. */
export interface RedisStoreFailureContext {
  /** The store's key prefix. */
  prefix: string;
  /** What was being done, for the message: `applying event <id>`, `reading active calls`. */
  operation: string;
  /** Keys the operation may have written or read, besides those its command named. */
  keys?: readonly string[];
  /** Whether the operation wrote (a refusal then says the write was not done). */
  writes: boolean;
  /** Reads the Redis type of each key (one round trip), to find the key of the wrong type. */
  readTypes: (keys: readonly string[]) => Promise<(string | undefined)[]>;
}

/**
 * A Redis store's failure as it leaves the store, never with the values it wrote (ioredis
 * attaches the command's arguments, the event's JSON among them, to its errors: redacted):
 *
 * - Redis refusing commands for now (core's `isRedisRefusingCommands`, shared with the other
 *   Redis stores: `toRedisStoreError`) → `RedisUnavailableError`, a 503 with `Retry-After` (the
 *   provider retries; the read API's client too);
 * - a key of the store's layout holding another type (`WRONGTYPE`: something else wrote into the
 *   store's keyspace) → an `Error` naming the key and its kind, answered as any bug (a generic
 *   500: the key is for the operator's log, not the provider or the browser), its cause the
 *   redacted reply;
 * - anything else (a calltrack error, a connection failure core recognizes) as it is, redacted.
 */
export async function toRedisStoreFailure(
  error: unknown,
  context: RedisStoreFailureContext,
): Promise<unknown> {
  if (CallTrackError.isInstance(error)) return error;
  // Read before redaction takes them off (keys are names, not the values written).
  const commandKeys = redisCommandKeys(error);
  const failure = toRedisStoreError(error, context);
  if (failure !== error || redisReplyCode(error) !== 'WRONGTYPE') return failure;
  const described = await describeWrongTypeKey(commandKeys, context).catch(() => undefined);
  return new Error(
    `The Redis call store failed ${context.operation}: ${
      described ??
      `a key under "${context.prefix}:" holds another type than the store keeps there (WRONGTYPE)`
    }. Something else wrote into the store's keyspace: delete that key or give the store a prefix of its own.`,
    { cause: error },
  );
}

/** The first key whose type is not the one the store keeps there, as a phrase. */
async function describeWrongTypeKey(
  commandKeys: readonly string[],
  context: RedisStoreFailureContext,
): Promise<string | undefined> {
  const candidates: { key: string; kind: RedisStoreKeyKind }[] = [];
  for (const key of new Set([...commandKeys, ...(context.keys ?? [])])) {
    const kind = redisStoreKeyKind(context.prefix, key);
    if (kind !== undefined) candidates.push({ key, kind });
  }
  if (candidates.length === 0) return undefined;
  const types = await context.readTypes(candidates.map(({ key }) => key));
  for (const [index, { key, kind }] of candidates.entries()) {
    const type = types[index];
    if (type !== undefined && type !== 'none' && type !== kind.type) {
      return `the ${kind.kind} ${key} holds a ${type}, not a ${kind.type} (WRONGTYPE)`;
    }
  }
  return undefined;
}
