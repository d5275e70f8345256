import type { CallScript } from './call-script';
import type { ProviderApiCall, ProviderApiFault, ProviderApiRequestInfo } from './provider-api';
import type { ScriptedCallEnding } from './scripted-call-ending';
import type { SimulatedOutcome } from './simulated-outcome';
import type { SimulatorInternals } from './simulator-internals';
import type { SimulatorLine } from './simulator-line';
import type { SimulatorProvider } from './simulator-provider';

/** What one provider's part of the API asks the simulator to place. @internal */
export interface ProviderApiPlacement {
  info: ProviderApiRequestInfo & { to: string; from: string };
  /** The line the call goes out from. */
  line: SimulatorLine;
  /** Scripts the call (outbound, to `info.to`) from its outcome, talk time and seed. */
  script(input: {
    outcome: SimulatedOutcome;
    talkDurationMs: number | undefined;
    seed: number;
    startedAt: number;
  }): CallScript;
  /**
   * What the provider delivers of the script: its webhooks as sent (callback URLs, the request's
   * own metadata and ids), the ones it would not send left out.
   */
  deliver(script: CallScript): CallScript;
  /** How the call ends when it is hung up at `atMs` (undefined when it cannot be). */
  end?(script: CallScript, atMs: number): ScriptedCallEnding | undefined;
  agentNumber?: string;
}

/** A placed call with what the API needs to steer it. @internal */
export interface ProviderApiCallRecord {
  call: ProviderApiCall;
  /** The script as it happens, before `deliver` filtered it: its timeline and payloads. */
  script: CallScript;
  /** Hangs it up now; undefined when it had already ended. */
  end(): ScriptedCallEnding | undefined;
  /** How it was hung up, once it was. */
  readonly ending: ScriptedCallEnding | undefined;
}

/** What each provider's request handler is given. @internal */
export interface ProviderApiContext {
  simulator: SimulatorInternals;
  twilioAccountSid: string;
  callerDeskAuthCode: string;
  /** The simulator's lines of `provider`. */
  lines(provider: SimulatorProvider): readonly SimulatorLine[];
  /** The fault to inject into a request, if any. */
  fault(info: ProviderApiRequestInfo): ProviderApiFault | undefined;
  /** Places a call: scripts it, runs it through the simulator, records it. */
  place(placement: ProviderApiPlacement): ProviderApiCallRecord;
  /** A call this API placed, by provider and id. */
  find(provider: SimulatorProvider, callId: string): ProviderApiCallRecord | undefined;
}
