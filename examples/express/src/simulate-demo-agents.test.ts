import { createMemoryBus } from '@calltrack/bus';
import { createPresence } from '@calltrack/presence';
import { describe, expect, it } from 'vitest';
import { demoAgents } from './demo-agents';
import { simulateDemoAgents } from './simulate-demo-agents';

describe('simulateDemoAgents', () => {
  it('brings agents online, switches their states, logs them out, and publishes each change', async () => {
    const bus = createMemoryBus();
    const published: string[] = [];
    const presence = createPresence({
      bus: {
        publish: (event) => {
          published.push(`${event.type} ${event.userId}`);
          return bus.publish(event);
        },
      },
      autoHeartbeat: false,
    });
    let roll = 0.99;
    const agents = simulateDemoAgents({ presence, tenantId: 'demo', random: () => roll });
    const online = async () =>
      (await presence.listMembers('demo', { status: 'online' })).map((member) => member.userId);

    await agents.start();
    expect(await online()).toEqual(
      demoAgents
        .slice(0, 3)
        .map((agent) => agent.userId)
        .sort(),
    );
    const [first] = await presence.listMembers('demo');
    expect(first?.connections[0]?.data).toEqual({ name: 'Asha Rao', simulated: true });

    roll = 0.1; // offline agents come; online ones set a state (0.1: available)
    await agents.tick();
    expect(await online()).toHaveLength(demoAgents.length);

    roll = 0.7; // nobody does anything; the connections heartbeat
    await agents.tick();
    expect(await online()).toHaveLength(demoAgents.length);
    await agents.setState('agent-ben', 'break');
    expect((await presence.getPresence('demo', 'agent-ben')).state).toBe('break');

    roll = 0.01; // everyone leaves
    await agents.tick();
    expect(await online()).toEqual([]);
    const offline = await presence.getPresence('demo', 'agent-asha');
    expect(offline.status).toBe('offline');

    // Each agent came online once and went offline once.
    for (const { userId } of demoAgents) {
      expect(published.filter((line) => line === `presence.online ${userId}`)).toHaveLength(1);
      expect(published.filter((line) => line === `presence.offline ${userId}`)).toHaveLength(1);
    }
    expect(published).toContain('presence.updated agent-ben');

    await agents.stop();
    await presence.stop();
    await bus.close();
  });
});
