import type { SimulatorLine } from './simulator-line';

/**
 * The lines the simulator uses unless told otherwise: tenant `demo` with branches `north` and
 * `south` on Twilio and Retell, and `bengaluru` on CallerDesk.
 *
 * | provider   | number          | tenant | branch    |
 * | ---------- | --------------- | ------ | --------- |
 * | twilio     | +14155550100    | demo   | north     |
 * | twilio     | +14155550101    | demo   | south     |
 * | retell     | +14155550110    | demo   | north     |
 * | retell     | +14155550111    | demo   | south     |
 * | callerdesk | +918041234567   | demo   | bengaluru |
 *
 * The US numbers are in the 555-01xx range reserved for fiction. CallerDesk payloads carry the
 * Indian number as CallerDesk sends it, `08041234567`.
 */
export const demoLines: readonly SimulatorLine[] = Object.freeze([
  Object.freeze({
    provider: 'twilio',
    number: '+14155550100',
    tenantId: 'demo',
    branchId: 'north',
  }),
  Object.freeze({
    provider: 'twilio',
    number: '+14155550101',
    tenantId: 'demo',
    branchId: 'south',
  }),
  Object.freeze({
    provider: 'retell',
    number: '+14155550110',
    tenantId: 'demo',
    branchId: 'north',
  }),
  Object.freeze({
    provider: 'retell',
    number: '+14155550111',
    tenantId: 'demo',
    branchId: 'south',
  }),
  Object.freeze({
    provider: 'callerdesk',
    number: '+918041234567',
    tenantId: 'demo',
    branchId: 'bengaluru',
  }),
] satisfies SimulatorLine[]);
