import { InvalidArgumentError } from '@calltrack/core';
import type { CallScript } from './call-script';
import type { ResolvedSimulatorOptions } from './resolve-simulator-options';
import type { ScriptedCallEnding } from './scripted-call-ending';
import type { SimulatedCall } from './simulated-call';
import type { Simulator } from './simulator';

/** A call a simulator is running, as the provider API steers it. @internal */
export interface RunningCall {
  readonly script: CallScript;
  /** Simulated milliseconds since the call started (`Infinity` at `speed: Infinity`). */
  elapsedMs(): number;
  /**
   * Hangs the call up now: `ending(atMs)` says what the provider sends instead of the rest of the
   * script. What was due before `atMs` is still delivered, then the ending's webhooks, at the
   * call's speed. Returns the ending, or undefined when the call had already ended (by its script
   * or by an earlier `end`).
   */
  end(ending: (atMs: number) => ScriptedCallEnding | undefined): ScriptedCallEnding | undefined;
  /** The ending of an `end()` that took effect. */
  readonly ending: ScriptedCallEnding | undefined;
  /** Resolves when the call's last webhook was answered (or the call was aborted). */
  readonly done: Promise<SimulatedCall>;
}

/** What the provider API needs from a simulator beyond its public interface. @internal */
export interface SimulatorInternals {
  /** The simulator's options, resolved. */
  readonly config: ResolvedSimulatorOptions;
  /** The seed of a new call, drawn from the simulator's seed. */
  nextSeed(): number;
  /** Runs a prepared script now, outside `start()`'s schedule (counted in the stats). */
  run(script: CallScript, options: { seed: number }): RunningCall;
}

const internals = new WeakMap<Simulator, SimulatorInternals>();

/** Records a simulator's internals (called by `createSimulator`). @internal */
export function registerSimulatorInternals(simulator: Simulator, parts: SimulatorInternals): void {
  internals.set(simulator, parts);
}

/** The internals of a simulator made by `createSimulator`; throws for anything else. @internal */
export function simulatorInternalsOf(simulator: Simulator): SimulatorInternals {
  const found = simulator == null ? undefined : internals.get(simulator);
  if (found === undefined) {
    throw new InvalidArgumentError({
      message: 'createProviderApi: `simulator` must come from createSimulator().',
    });
  }
  return found;
}
