import type { Presence, PresenceConnection } from '@calltrack/presence';
import { type AgentState, demoAgents } from './demo-agents';

/** Options of {@link simulateDemoAgents}. */
export interface SimulateDemoAgentsOptions {
  presence: Presence;
  tenantId: string;
  /** How often an agent may do something (and every connection heartbeats). Default 4 s. */
  tickMs?: number;
  /** Random numbers in [0, 1), for tests. Default `Math.random`. */
  random?: () => number;
  logger?: Pick<Console, 'warn'>;
}

/** The simulated agents: start them on a timer, or drive them one step at a time. */
export interface DemoAgentSimulation {
  /** Connects three agents at once, then lets them act every `tickMs`. */
  start(): Promise<void>;
  /** One round: each agent may come, leave or change state; every connection heartbeats. */
  tick(): Promise<void>;
  /** Brings one agent online (a no-op when connected). */
  connect(userId: string): Promise<void>;
  /** One agent logs out (offline at once). */
  leave(userId: string): Promise<void>;
  /** Sets one agent's state. */
  setState(userId: string, state: AgentState): Promise<void>;
  /** Stops the timer; the agents log out. */
  stop(): Promise<void>;
}

/**
 * Agents for the console's presence panel, in this process: each is a presence connection (as a
 * browser tab of that agent would be) that comes and goes, takes a break, wraps up. Presence is
 * created with `autoHeartbeat: false` (the transports heartbeat on their keepalives), so these
 * connections heartbeat on the simulation's own tick.
 */
export function simulateDemoAgents(options: SimulateDemoAgentsOptions): DemoAgentSimulation {
  const { presence, tenantId } = options;
  const random = options.random ?? Math.random;
  const logger = options.logger ?? console;
  const connections = new Map<string, PresenceConnection>();
  let timer: NodeJS.Timeout | undefined;
  let stopped = false;

  const report = (error: unknown) =>
    logger.warn(`simulated agents: ${error instanceof Error ? error.message : String(error)}`);

  const connect = async (userId: string) => {
    if (connections.has(userId) || stopped) return;
    const agent = demoAgents.find((candidate) => candidate.userId === userId);
    const connection = await presence.connect({
      tenantId,
      userId,
      connectionId: `simulated-${userId}`,
      data: { name: agent?.name ?? userId, simulated: true },
    });
    connections.set(userId, connection);
  };
  const leave = async (userId: string) => {
    const connection = connections.get(userId);
    connections.delete(userId);
    await connection?.disconnect({ immediate: true });
  };
  const setState = async (userId: string, state: AgentState) => {
    await presence.setState(tenantId, userId, state);
  };

  const pickState = (): AgentState => {
    const roll = random();
    return roll < 0.6 ? 'available' : roll < 0.8 ? 'break' : 'wrap-up';
  };

  const tick = async () => {
    for (const { userId } of demoAgents) {
      const roll = random();
      if (!connections.has(userId)) {
        if (roll < 0.25) await connect(userId);
      } else if (roll < 0.06) {
        await leave(userId);
      } else if (roll < 0.2) {
        await setState(userId, pickState());
      }
    }
    await Promise.all([...connections.values()].map((connection) => connection.heartbeat()));
  };

  return {
    async start() {
      for (const { userId } of demoAgents.slice(0, 3)) await connect(userId);
      timer = setInterval(() => void tick().catch(report), options.tickMs ?? 4_000);
      timer.unref();
    },
    tick,
    connect,
    leave,
    setState,
    async stop() {
      stopped = true;
      clearInterval(timer);
      await Promise.all([...connections.keys()].map((userId) => leave(userId).catch(report)));
    },
  };
}
