/**
 * A Lua line that makes a script's out-of-memory check its first command, on Redis 6 and 7 alike:
 * with `maxmemory` reached (under `noeviction`), the script is refused with `OOM` before it has
 * written anything, whatever it would have written first.
 *
 * Without it, Redis checks memory at a script's first command that may grow memory (`SET`,
 * `HSET`, `ZADD`…: flagged `denyoom`), and only while the script has written nothing yet: a
 * script whose first write is a delete (`DEL`, `HDEL`, `ZREM`, `LPOP`…) is never refused, and
 * its later writes go through past `maxmemory`. Redis 7 refuses a script declared with a `#!lua`
 * shebang up front, but Redis 6 cannot compile that line, and calltrack still supports Redis 6.
 *
 * `SETRANGE` of an empty string on a key that does not exist is such a command and writes nothing
 * (Redis creates no key, nothing is replicated). `key` is a Lua expression naming a key in the
 * script's slot that nothing ever writes (its type must stay "none").
 */
export function refuseOutOfMemoryLua(key: string): string {
  return `redis.call('SETRANGE', ${key}, 0, '')\n`;
}
