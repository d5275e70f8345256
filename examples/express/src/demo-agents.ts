/** The demo tenant's agents, played by `simulateDemoAgents` (the signed-in user is one too). */
export const demoAgents: readonly { userId: string; name: string }[] = [
  { userId: 'agent-asha', name: 'Asha Rao' },
  { userId: 'agent-ben', name: 'Ben Carter' },
  { userId: 'agent-chen', name: 'Chen Wei' },
  { userId: 'agent-dora', name: 'Dora Álvarez' },
  { userId: 'agent-emeka', name: 'Emeka Obi' },
];

/** The states an agent picks from the console (and the simulated agents switch between). */
export const agentStates = ['available', 'break', 'wrap-up'] as const;
export type AgentState = (typeof agentStates)[number];
