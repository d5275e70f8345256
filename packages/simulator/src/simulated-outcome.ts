/**
 * How a simulated call ends, in provider-neutral words:
 *
 * - `completed`: answered by a person, talked, hung up;
 * - `no-answer`: rang out;
 * - `busy`: the callee's line was busy (or declined);
 * - `failed`: the call could not be placed or broke down;
 * - `voicemail`: answered by voicemail. Each provider reports this its own way: Twilio a
 *   `completed` call with `AnsweredBy=machine_*` (plus an async AMD callback), Retell
 *   `disconnection_reason: voicemail_reached` with `call_analysis.in_voicemail: true`,
 *   CallerDesk (which has no machine detection) an `ANSWER` with a short talk time. calltrack
 *   ends all three as `completed`.
 */
export type SimulatedOutcome = 'completed' | 'no-answer' | 'busy' | 'failed' | 'voicemail';

/** Every {@link SimulatedOutcome}. */
export const simulatedOutcomes: readonly SimulatedOutcome[] = Object.freeze([
  'completed',
  'no-answer',
  'busy',
  'failed',
  'voicemail',
]);

/**
 * The default outcome weights: 60 % completed, 15 % no answer, 12 % voicemail, 8 % busy, 5 %
 * failed, a plausible mix for a sales or support line.
 */
export const defaultOutcomeWeights: Readonly<Record<SimulatedOutcome, number>> = Object.freeze({
  completed: 0.6,
  'no-answer': 0.15,
  busy: 0.08,
  failed: 0.05,
  voicemail: 0.12,
});
