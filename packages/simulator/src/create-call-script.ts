import { type CallDirection, InvalidArgumentError } from '@calltrack/core';
import type { CallScript, CallScriptInput } from './call-script';
import { buildCallerDeskCallScript } from './callerdesk-call-script';
import { demoLines } from './demo-lines';
import { createRandom } from './random';
import { buildRetellCallScript } from './retell-call-script';
import { type SimulatedOutcome, simulatedOutcomes } from './simulated-outcome';
import type { SimulatorLine } from './simulator-line';
import { buildTwilioCallScript } from './twilio-call-script';

/** Options of {@link createCallScript}. */
export interface CreateCallScriptOptions {
  /** The business line; its `provider` decides whose webhooks are scripted. */
  line: SimulatorLine;
  /** How the call ends. */
  outcome: SimulatedOutcome;
  /** The seed of every random choice (ids, numbers, timing, transcript); same seed, same script. */
  seed: number;
  /** Force the direction; by default it fits the outcome (e.g. voicemail and busy are outbound). */
  direction?: CallDirection;
  /** When the call starts (simulated clock), milliseconds since the epoch; default now. */
  startedAt?: number;
  /** Force the talk time of an answered call, in milliseconds (rounded to seconds where the provider reports seconds). */
  talkDurationMs?: number;
  /** Force the customer's number (E.164). */
  customerNumber?: string;
  /** Business numbers the customer's number must not collide with; default the line and {@link demoLines}. */
  avoidNumbers?: readonly string[];
  /**
   * Twilio: whether answering-machine detection runs (its callback, `AnsweredBy`), and in which
   * mode: `true` is `DetectMessageEnd` (a machine is `machine_end_*`), `'Enable'` answers
   * `machine_start`. Default: `DetectMessageEnd` on voicemail calls and on most other outbound
   * calls.
   */
  machineDetection?: boolean | 'Enable' | 'DetectMessageEnd';
  /** Twilio: whether the call is recorded (its recording callback). Default: most answered calls. */
  recording?: boolean;
}

/**
 * Scripts one call: every webhook its provider sends, with realistic timing, ids, numbers and
 * payloads, but nothing sent yet. `createSimulator` runs scripts over HTTP; use this directly to
 * feed parsers or handlers in tests (with `createSignedRequest`).
 *
 * Throws `InvalidArgumentError` for an unknown provider or outcome.
 */
export function createCallScript(options: CreateCallScriptOptions): CallScript {
  const { line, outcome } = options;
  if (!simulatedOutcomes.includes(outcome)) {
    throw new InvalidArgumentError({ message: `Unknown simulated outcome "${String(outcome)}".` });
  }
  if (!Number.isInteger(options.seed)) {
    throw new InvalidArgumentError({ message: 'createCallScript: seed must be an integer.' });
  }
  const input: CallScriptInput = {
    line,
    outcome,
    direction: options.direction,
    startedAt: Math.round(options.startedAt ?? Date.now()),
    talkDurationMs: options.talkDurationMs,
    customerNumber: options.customerNumber,
    avoidNumbers: options.avoidNumbers ?? [line.number, ...demoLines.map((demo) => demo.number)],
    ...(options.machineDetection === undefined
      ? {}
      : { machineDetection: options.machineDetection }),
    ...(options.recording === undefined ? {} : { recording: options.recording }),
  };
  const random = createRandom(options.seed);
  switch (line?.provider) {
    case 'twilio':
      return buildTwilioCallScript(input, random);
    case 'retell':
      return buildRetellCallScript(input, random);
    case 'callerdesk':
      return buildCallerDeskCallScript(input, random);
    default:
      throw new InvalidArgumentError({
        message: `Unknown simulator provider "${String(line?.provider)}".`,
      });
  }
}
