import { setMaxListeners } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';
import type { CallScript } from './call-script';
import { createCallScript } from './create-call-script';
import { type PlannedDelivery, planDeliveries } from './plan-deliveries';
import { drawRetryDelayMs } from './provider-retry-delay';
import { createRandom, type Random } from './random';
import {
  checkSeed,
  checkShare,
  checkSpeed,
  checkTwilioRetries,
  failOption,
  type ResolvedSimulatorOptions,
  resolveSimulatorOptions,
} from './resolve-simulator-options';
import type { ScriptedCallEnding } from './scripted-call-ending';
import { prepareSignedRequest, type SendResult, sendPreparedRequest } from './sign-and-send';
import type { SimulatedCall } from './simulated-call';
import type { SimulatedOutcome } from './simulated-outcome';
import type { Simulator } from './simulator';
import type { SimulatorDelivery } from './simulator-delivery';
import { type RunningCall, registerSimulatorInternals } from './simulator-internals';
import type { SimulatorLine } from './simulator-line';
import type { RunCallOptions, SimulatorOptions, StopOptions } from './simulator-options';
import type { SimulatorRetryFailure } from './simulator-retry-policy';
import type { SimulatorStats } from './simulator-stats';

/**
 * Creates a simulator: realistic call lifecycles of Twilio, Retell and CallerDesk, delivered to
 * `target` over HTTP as correctly signed webhooks, so the real provider handlers accept them and
 * the tracker sees complete calls. Use `runCall()` for one call now (tests), or `start()` for a
 * steady stream at `rate` calls per second (demos, load) and `stop()` to end it.
 *
 * Throws `InvalidArgumentError` for invalid options (a target that is not an http(s) URL, a rate
 * or speed that is not positive, a share outside 0..1, a provider without a line…).
 *
 * @example
 * const simulator = createSimulator({ target: 'http://localhost:3000', speed: 10, seed: 42 });
 * const call = await simulator.runCall({ provider: 'twilio', outcome: 'voicemail' });
 * console.log(call.callId, call.status, call.deliveries.map((d) => d.status));
 */
export function createSimulator(options: SimulatorOptions): Simulator {
  const config = resolveSimulatorOptions(options);
  const master = createRandom(config.seed);
  const stats = emptyStats();
  const active = new Set<Promise<SimulatedCall>>();
  const idleWaiters: (() => void)[] = [];
  let controller = sharedAbortController();
  let running = false;
  let startedByLoop = 0;
  let timer: ReturnType<typeof setTimeout> | undefined;
  let latencyTotal = 0;

  const call = <Argument>(hook: ((argument: Argument) => void) | undefined, argument: Argument) => {
    if (hook === undefined) return;
    try {
      hook(argument);
    } catch {
      // A failing hook must not break the simulation.
    }
  };

  const notifyIdle = () => {
    if (running || active.size > 0) return;
    for (const resolve of idleWaiters.splice(0)) resolve();
  };

  const record = (delivery: SimulatorDelivery) => {
    stats.deliveries += 1;
    const key = String(delivery.status);
    stats.byHttpStatus[key] = (stats.byHttpStatus[key] ?? 0) + 1;
    if (!delivery.ok) stats.failedDeliveries += 1;
    if (delivery.status >= 400 && delivery.status < 500) stats.rejectedDeliveries += 1;
    // A duplicate's retries carry its flag: count the duplicate once.
    if (delivery.duplicate && delivery.retry === 0) stats.duplicateDeliveries += 1;
    if (delivery.retry > 0) stats.retries += 1;
    latencyTotal += delivery.ms;
    stats.maxLatencyMs = Math.max(stats.maxLatencyMs, delivery.ms);
    call(options.onDelivery, delivery);
  };

  const execute = async (
    script: CallScript,
    plan: PlannedDelivery[],
    meta: { seed: number; speed: number; signal: AbortSignal; random: Random },
    control: CallControlState,
  ): Promise<SimulatedCall> => {
    const { signal, speed } = meta;
    const url = config.urls[script.provider];
    const retryPolicy = config.retries[script.provider];
    const totalTimeoutMs = retryPolicy.totalTimeoutMs ?? Number.POSITIVE_INFINITY;
    const deliveries: SimulatorDelivery[] = [];
    // A webhook is lost when none of its deliveries (original, duplicate, their retries) was
    // taken: counted per webhook index, once no delivery of it is left to try.
    const taken = new Set<number>();
    const givenUp = new Set<number>();
    const lostIndexes = new Set<number>();
    // How each webhook's latest delivery failed: a webhook lost on a 4xx was rejected.
    const lastFailures = new Map<number, SimulatorRetryFailure>();
    /** Counts the webhook lost unless one of its deliveries was taken; true when it did now. */
    const loseIfNoneTaken = (index: number): boolean => {
      if (taken.has(index) || lostIndexes.has(index)) return false;
      lostIndexes.add(index);
      stats.lostWebhooks += 1;
      if (lastFailures.get(index) === '4xx') stats.rejectedWebhooks += 1;
      return true;
    };
    let aborted = signal.aborted;
    // The step being waited on or sent: on abort it is no longer in the queue.
    let current: PlannedDelivery | undefined;
    for (;;) {
      if (aborted) break;
      current = undefined;
      const step = control.queue.shift();
      if (step === undefined) break;
      current = step;
      // A hang-up drops what the script had planned after it.
      // (A retry is of a webhook already sent: the provider sends it again regardless.)
      const endedAtMs = control.ending?.endedAtMs;
      if (
        endedAtMs !== undefined &&
        step.atMs > endedAtMs &&
        step.retry === 0 &&
        !control.endingSteps.has(step)
      ) {
        continue;
      }
      const wait = control.begin + step.atMs / speed - performance.now();
      if (wait > 0) {
        try {
          await sleep(wait, undefined, { signal: AbortSignal.any([signal, control.wake.signal]) });
        } catch {
          if (signal.aborted) {
            aborted = true;
            break;
          }
          // Woken by a hang-up: look at this step again against the new plan.
          control.queue.unshift(step);
          continue;
        }
      }
      if (signal.aborted) {
        aborted = true;
        break;
      }
      // Each attempt is signed when it goes out, as the provider does: a retry minutes after
      // the first attempt carries a Retell timestamp of its own, not a stale one.
      const sentAtWall = config.wallNow();
      const request = prepareSignedRequest(step.webhook, {
        url,
        credentials: config.credentials,
        callerDeskMethod: config.callerDeskMethod,
        now: sentAtWall,
      });
      const sentAt = new Date(sentAtWall).toISOString();
      const sentAtMs = performance.now();
      const spentBeforeMs = step.spentMs ?? 0;
      const result = await sendPreparedRequest(request, {
        fetch: config.fetch,
        // An attempt gets at most what is left of the total timeout (Twilio's `tt`).
        timeoutMs: Math.ceil(
          Math.min(config.timeoutMs[script.provider], totalTimeoutMs - spentBeforeMs),
        ),
        signal,
      });
      if (result.aborted) {
        aborted = true;
        break;
      }
      const spentMs = spentBeforeMs + Math.max(0, config.wallNow() - sentAtWall);
      const failure = failureOf(result);
      if (failure !== undefined) lastFailures.set(step.index, failure);
      const willRetry =
        failure !== undefined &&
        retryPolicy.on.includes(failure) &&
        step.retry < retryPolicy.count &&
        spentMs < totalTimeoutMs;
      if (willRetry) {
        // Due the provider's delay after this attempt went out, on the call's time scale.
        const sentAtCallMs =
          speed === Number.POSITIVE_INFINITY
            ? step.atMs
            : Math.max(step.atMs, (sentAtMs - control.begin) * speed);
        scheduleRetry(control, {
          ...step,
          atMs: sentAtCallMs + drawRetryDelayMs(script.provider, meta.random),
          retry: step.retry + 1,
          spentMs,
        });
      } else if (result.ok) {
        taken.add(step.index);
      } else {
        givenUp.add(step.index);
      }
      // Before the hook sees the delivery: a final failure is lost unless another delivery of the
      // webhook was taken or is still to come.
      const lost =
        !result.ok &&
        !willRetry &&
        !control.queue.some((pending) => pending.index === step.index) &&
        loseIfNoneTaken(step.index);
      const delivery: SimulatorDelivery = {
        provider: script.provider,
        callId: script.callId,
        kind: step.webhook.kind,
        index: step.index,
        outcome: script.outcome,
        from: script.from,
        to: script.to,
        method: request.init.method,
        url: request.displayUrl,
        status: result.status,
        ok: result.ok,
        response: result.response,
        ...(result.error === undefined ? {} : { error: result.error }),
        duplicate: step.duplicate,
        retry: step.retry,
        willRetry,
        lost,
        reordered: step.reordered,
        ms: Math.round(result.ms * 10) / 10,
        sentAt,
      };
      deliveries.push(delivery);
      record(delivery);
    }
    if (aborted) {
      // A failed webhook whose retry the abort dropped was never taken: lost, not forgotten.
      for (const pending of [...(current === undefined ? [] : [current]), ...control.queue]) {
        if (pending.retry > 0) loseIfNoneTaken(pending.index);
      }
    }
    // Given up while another delivery of it was queued, which a hang-up or an abort then dropped.
    for (const index of givenUp) loseIfNoneTaken(index);
    const { ending } = control;
    return {
      ...script,
      ...(ending === undefined
        ? {}
        : {
            webhooks: [
              ...script.webhooks.filter((webhook) => webhook.atMs <= ending.endedAtMs),
              ...ending.webhooks,
            ],
            status: ending.status,
            providerStatus: ending.providerStatus,
            talkDurationMs: ending.talkDurationMs,
            endedAt: script.startedAt + ending.endedAtMs,
          }),
      seed: meta.seed,
      reordered: plan.some((step) => step.reordered),
      duplicates: plan.filter((step) => step.duplicate).length,
      deliveries,
      ok: !aborted && lostIndexes.size === 0,
      aborted,
    };
  };

  /** Starts a scripted call: stats, hooks, and its deliveries in the background. */
  const run = (
    script: CallScript,
    runOptions: {
      seed: number;
      random: Random;
      duplicateRate: number;
      reorder: boolean;
      speed: number;
      signal?: AbortSignal | undefined;
    },
  ): RunningCall => {
    // A count for every provider was let past Twilio's limit for a run without Twilio.
    if (script.provider === 'twilio') checkTwilioRetries(config.retries.twilio.count);
    const plan = planDeliveries(script.webhooks, {
      random: runOptions.random,
      duplicateRate: runOptions.duplicateRate,
      reorder: runOptions.reorder,
    });
    const { speed } = runOptions;
    const signal =
      runOptions.signal === undefined
        ? controller.signal
        : AbortSignal.any([controller.signal, runOptions.signal]);

    stats.started += 1;
    stats.byProvider[script.provider] += 1;
    stats.byOutcome[script.outcome] += 1;
    if (plan.some((step) => step.reordered)) stats.reorderedCalls += 1;
    call(options.onCallStart, script);

    const control: CallControlState = {
      begin: performance.now(),
      queue: [...plan],
      wake: new AbortController(),
      ending: undefined,
      endingSteps: new Set(),
    };
    const promise = execute(
      script,
      plan,
      { seed: runOptions.seed, speed, signal, random: runOptions.random },
      control,
    ).then((result) => {
      active.delete(promise);
      if (result.aborted) stats.aborted += 1;
      else stats.completed += 1;
      call(options.onCallEnd, result);
      notifyIdle();
      return result;
    });
    active.add(promise);
    let finished = false;
    void promise.then(() => {
      finished = true;
    });
    const elapsedMs = () =>
      speed === Number.POSITIVE_INFINITY
        ? Number.POSITIVE_INFINITY
        : (performance.now() - control.begin) * speed;
    return {
      script,
      done: promise,
      elapsedMs,
      get ending() {
        return control.ending;
      },
      end(endingAt) {
        if (finished || control.ending !== undefined) return undefined;
        const ending = endingAt(elapsedMs());
        if (ending === undefined) return undefined;
        const steps: PlannedDelivery[] = ending.webhooks.map((webhook, offset) => ({
          webhook,
          index: script.webhooks.length + offset,
          atMs: webhook.atMs,
          duplicate: false,
          reordered: false,
          retry: 0,
        }));
        control.ending = ending;
        control.endingSteps = new Set(steps);
        control.queue = [
          ...control.queue.filter((step) => step.atMs <= ending.endedAtMs || step.retry > 0),
          ...steps,
        ];
        const sleeping = control.wake;
        control.wake = new AbortController();
        sleeping.abort();
        return ending;
      },
    };
  };

  const launch = (callOptions: RunCallOptions): Promise<SimulatedCall> => {
    const seed = callOptions.seed === undefined ? master.uint32() : checkSeed(callOptions.seed);
    const random = createRandom(seed);
    const line = chooseLine(callOptions, config, random);
    const outcome = callOptions.outcome ?? chooseOutcome(config, random);
    const script = createCallScript({
      line,
      outcome,
      seed: random.uint32(),
      startedAt: config.now(),
      avoidNumbers: config.lines.map((candidate) => candidate.number),
      ...(callOptions.direction === undefined ? {} : { direction: callOptions.direction }),
      ...(callOptions.talkDurationMs === undefined
        ? {}
        : { talkDurationMs: callOptions.talkDurationMs }),
      ...(callOptions.customerNumber === undefined
        ? {}
        : { customerNumber: callOptions.customerNumber }),
    });
    const duplicateRate = checkShare(
      callOptions.duplicateRate ?? config.duplicateRate,
      'duplicateRate',
    );
    const reorder = callOptions.reorder ?? random.chance(config.reorderRate);
    const speed = callOptions.speed === undefined ? config.speed : checkSpeed(callOptions.speed);
    return run(script, { seed, random, duplicateRate, reorder, speed, signal: callOptions.signal })
      .done;
  };

  const tick = () => {
    timer = undefined;
    if (!running) return;
    if (active.size >= config.maxActiveCalls) {
      stats.skipped += 1;
      call(options.onSkip, undefined);
    } else {
      startedByLoop += 1;
      void launch({});
    }
    if (startedByLoop >= config.maxCalls) {
      running = false;
      notifyIdle();
      return;
    }
    timer = setTimeout(tick, master.exponential(1000 / config.rate));
  };

  const stop = async (stopOptions: StopOptions = {}): Promise<void> => {
    running = false;
    if (timer !== undefined) clearTimeout(timer);
    timer = undefined;
    if (stopOptions.abort === true) {
      controller.abort();
      controller = sharedAbortController();
    }
    notifyIdle();
    await Promise.all([...active]);
  };

  if (options.signal?.aborted === true) void stop({ abort: true });
  else options.signal?.addEventListener('abort', () => void stop({ abort: true }), { once: true });

  const simulator: Simulator = {
    seed: config.seed,
    get running() {
      return running;
    },
    get stats(): SimulatorStats {
      return {
        ...stats,
        active: active.size,
        byProvider: { ...stats.byProvider },
        byOutcome: { ...stats.byOutcome },
        byHttpStatus: { ...stats.byHttpStatus },
        averageLatencyMs:
          stats.deliveries === 0 ? 0 : Math.round((latencyTotal / stats.deliveries) * 10) / 10,
      };
    },
    start() {
      if (running || options.signal?.aborted === true) return;
      if (startedByLoop >= config.maxCalls) return;
      running = true;
      tick();
    },
    stop,
    async runCall(callOptions = {}) {
      return launch(callOptions);
    },
    idle() {
      if (!running && active.size === 0) return Promise.resolve();
      return new Promise((resolve) => idleWaiters.push(resolve));
    },
  };
  registerSimulatorInternals(simulator, {
    config,
    nextSeed: () => master.uint32(),
    run: (script, { seed }) => {
      const random = createRandom(seed);
      return run(script, {
        seed,
        random,
        duplicateRate: config.duplicateRate,
        reorder: random.chance(config.reorderRate),
        speed: config.speed,
      });
    },
  });
  return simulator;
}

/** How a running call stands: its remaining deliveries and its hang-up, if any. */
interface CallControlState {
  /** `performance.now()` when the call started. */
  begin: number;
  /** Deliveries still to make, in order. */
  queue: PlannedDelivery[];
  /** Aborted to wake the call's sleep when its plan changes (a hang-up). */
  wake: AbortController;
  ending: ScriptedCallEnding | undefined;
  /** The deliveries of the ending, which are due after it by definition. */
  endingSteps: ReadonlySet<PlannedDelivery>;
}

/** Which retryable failure a delivery's result is, if it failed. */
function failureOf(result: SendResult): SimulatorRetryFailure | undefined {
  if (result.ok) return undefined;
  if (result.status === 0) return result.timedOut ? 'timeout' : 'connection';
  if (result.status >= 500) return '5xx';
  if (result.status >= 400) return '4xx';
  return undefined;
}

/** Puts a retry in the call's queue before the first delivery due after it. */
function scheduleRetry(control: CallControlState, retry: PlannedDelivery): void {
  const later = control.queue.findIndex((step) => step.atMs > retry.atMs);
  control.queue.splice(later === -1 ? control.queue.length : later, 0, retry);
}

function chooseLine(
  callOptions: RunCallOptions,
  config: ResolvedSimulatorOptions,
  random: Random,
): SimulatorLine {
  if (callOptions.line !== undefined) {
    if (callOptions.provider !== undefined && callOptions.provider !== callOptions.line.provider) {
      failOption(
        `line ${callOptions.line.number} is a ${callOptions.line.provider} line, not ${callOptions.provider}.`,
      );
    }
    return callOptions.line;
  }
  const provider = callOptions.provider ?? random.pick(config.providers);
  const candidates = config.lines.filter((line) => line.provider === provider);
  if (candidates.length === 0) failOption(`no line for provider "${String(provider)}".`);
  return random.pick(candidates);
}

function chooseOutcome(config: ResolvedSimulatorOptions, random: Random): SimulatedOutcome {
  return random.weighted(config.outcomes) ?? 'completed';
}

function emptyStats(): SimulatorStats {
  return {
    started: 0,
    completed: 0,
    aborted: 0,
    active: 0,
    skipped: 0,
    deliveries: 0,
    failedDeliveries: 0,
    rejectedDeliveries: 0,
    duplicateDeliveries: 0,
    retries: 0,
    lostWebhooks: 0,
    rejectedWebhooks: 0,
    reorderedCalls: 0,
    byProvider: { twilio: 0, retell: 0, callerdesk: 0 },
    byOutcome: { completed: 0, 'no-answer': 0, busy: 0, failed: 0, voicemail: 0 },
    byHttpStatus: {},
    averageLatencyMs: 0,
    maxLatencyMs: 0,
  };
}

/** One controller for every running call: each waits on its signal, so lift Node's 10-listener warning. */
function sharedAbortController(): AbortController {
  const controller = new AbortController();
  setMaxListeners(0, controller.signal);
  return controller;
}
