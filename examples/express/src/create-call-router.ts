import { RedisUnavailableError } from '@calltrack/core';
import type { Presence } from '@calltrack/presence';

/** Options of {@link createCallRouter}. */
export interface CallRouterOptions {
  presence: Pick<Presence, 'listAvailable'>;
  /**
   * An agent just given a call is passed over for this long: the tracker only counts the call
   * once its first webhook arrived, and two calls must not ring one agent. Default 10 s.
   */
  holdMs?: number;
  /** Calls remembered (oldest forgotten first). Default 10,000. */
  maxCalls?: number;
  /**
   * Whether presence can be read now (on Redis: its client is ready). While it says no, `route`
   * refuses at once with `RedisUnavailableError` instead of reading: on ioredis' defaults a read
   * waits 10–40 s in the offline queue, longer than Twilio waits for TwiML. Default: always.
   */
  presenceReachable?: () => boolean;
  now?: () => number;
}

/** Who takes an incoming call, as the seed's `RouteIncomingCall` decided it. */
export interface CallRouter {
  /**
   * Routes a call once: an available agent (online, state `available`, on no call; the one who
   * waited longest since their last routed call), or undefined for voicemail. Asking again for
   * the same call gives the same answer. Rejects when presence cannot be read (at once with
   * `RedisUnavailableError` while `presenceReachable` says no); the next call routes again.
   */
  route(tenantId: string, callSid: string): Promise<string | undefined>;
  /** The agent a call was routed to, if it was routed to one. */
  agentOf(callSid: string): string | undefined;
  /** True once the call was routed (to an agent or to voicemail). */
  hasRouted(callSid: string): boolean;
}

/**
 * Incoming-call routing over presence: `presence.listAvailable` says who can take a call (it
 * reads the tracker's active calls, so an agent on a call is not offered another). The answers
 * are kept by call, so the Twilio status webhooks of that call can name its agent (`agentId`).
 */
export function createCallRouter(options: CallRouterOptions): CallRouter {
  const holdMs = options.holdMs ?? 10_000;
  const maxCalls = options.maxCalls ?? 10_000;
  const now = options.now ?? Date.now;
  const routed = new Map<string, Promise<string | undefined>>();
  const settled = new Map<string, string | undefined>();
  const lastRoutedAt = new Map<string, number>();

  const pick = async (tenantId: string): Promise<string | undefined> => {
    const available = await options.presence.listAvailable(tenantId);
    const at = now();
    const candidates = available
      .map((member) => member.userId)
      .filter((userId) => at - (lastRoutedAt.get(userId) ?? Number.NEGATIVE_INFINITY) >= holdMs)
      .sort((a, b) => (lastRoutedAt.get(a) ?? 0) - (lastRoutedAt.get(b) ?? 0));
    const agent = candidates[0];
    if (agent !== undefined) lastRoutedAt.set(agent, at);
    return agent;
  };

  return {
    route(tenantId, callSid) {
      const known = routed.get(callSid);
      if (known) return known;
      if (options.presenceReachable?.() === false) {
        return Promise.reject(
          new RedisUnavailableError({
            message: 'Redis cannot be reached (presence is not read while it reconnects).',
          }),
        );
      }
      if (routed.size >= maxCalls) {
        const oldest = routed.keys().next().value as string;
        routed.delete(oldest);
        settled.delete(oldest);
      }
      const answer = pick(tenantId).then(
        (agent) => {
          settled.set(callSid, agent);
          return agent;
        },
        (error: unknown) => {
          routed.delete(callSid); // a failed read routes again next time
          throw error;
        },
      );
      routed.set(callSid, answer);
      return answer;
    },
    agentOf(callSid) {
      return settled.get(callSid);
    },
    hasRouted(callSid) {
      return routed.has(callSid);
    },
  };
}
