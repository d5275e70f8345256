/** A provider the simulator sends webhooks for. */
export type SimulatorProvider = 'twilio' | 'retell' | 'callerdesk';

/** Every {@link SimulatorProvider}, in the default order. */
export const simulatorProviders: readonly SimulatorProvider[] = Object.freeze([
  'twilio',
  'retell',
  'callerdesk',
]);
