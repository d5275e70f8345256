import { setMaxListeners } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';
import { InvalidArgumentError } from '@calltrack/core';
import type { CallScript } from './call-script';
import { createCallScript } from './create-call-script';
import { demoCredentials, type SimulatorCredentials } from './demo-credentials';
import { demoLines } from './demo-lines';
import { type PlannedDelivery, planDeliveries } from './plan-deliveries';
import { createRandom, type Random } from './random';
import { prepareSignedRequest, sendPreparedRequest } from './sign-and-send';
import type { SimulatedCall } from './simulated-call';
import {
  defaultOutcomeWeights,
  type SimulatedOutcome,
  simulatedOutcomes,
} from './simulated-outcome';
import type { Simulator } from './simulator';
import type { SimulatorDelivery } from './simulator-delivery';
import type { SimulatorLine } from './simulator-line';
import type { RunCallOptions, SimulatorOptions, StopOptions } from './simulator-options';
import { type SimulatorProvider, simulatorProviders } from './simulator-provider';
import type { SimulatorStats } from './simulator-stats';

interface Config {
  target: string;
  urls: Record<SimulatorProvider, string>;
  providers: SimulatorProvider[];
  lines: readonly SimulatorLine[];
  credentials: SimulatorCredentials;
  rate: number;
  speed: number;
  maxActiveCalls: number;
  maxCalls: number;
  outcomes: Partial<Record<SimulatedOutcome, number>>;
  duplicateRate: number;
  reorderRate: number;
  seed: number;
  now: () => number;
  callerDeskMethod: 'GET' | 'POST';
  timeoutMs: number;
  fetch: typeof fetch;
}

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
  const config = resolveOptions(options);
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
    if (delivery.duplicate) stats.duplicateDeliveries += 1;
    latencyTotal += delivery.ms;
    stats.maxLatencyMs = Math.max(stats.maxLatencyMs, delivery.ms);
    call(options.onDelivery, delivery);
  };

  const execute = async (
    script: CallScript,
    plan: PlannedDelivery[],
    meta: { seed: number; speed: number; signal: AbortSignal },
  ): Promise<SimulatedCall> => {
    const { signal, speed } = meta;
    const url = config.urls[script.provider];
    const deliveries: SimulatorDelivery[] = [];
    const begin = performance.now();
    let aborted = signal.aborted;
    for (const step of plan) {
      if (aborted) break;
      const wait = begin + step.atMs / speed - performance.now();
      if (wait > 0) {
        try {
          await sleep(wait, undefined, { signal });
        } catch {
          aborted = true;
          break;
        }
      }
      if (signal.aborted) {
        aborted = true;
        break;
      }
      const request = prepareSignedRequest(step.webhook, {
        url,
        credentials: config.credentials,
        callerDeskMethod: config.callerDeskMethod,
      });
      const sentAt = new Date().toISOString();
      const result = await sendPreparedRequest(request, {
        fetch: config.fetch,
        timeoutMs: config.timeoutMs,
        signal,
      });
      if (result.aborted) {
        aborted = true;
        break;
      }
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
        reordered: step.reordered,
        ms: Math.round(result.ms * 10) / 10,
        sentAt,
      };
      deliveries.push(delivery);
      record(delivery);
    }
    return {
      ...script,
      seed: meta.seed,
      reordered: plan.some((step) => step.reordered),
      duplicates: plan.filter((step) => step.duplicate).length,
      deliveries,
      ok: !aborted && deliveries.every((delivery) => delivery.ok),
      aborted,
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
    const duplicateRate = share(callOptions.duplicateRate ?? config.duplicateRate, 'duplicateRate');
    const reorder = callOptions.reorder ?? random.chance(config.reorderRate);
    const plan = planDeliveries(script.webhooks, { random, duplicateRate, reorder });
    const speed = callOptions.speed === undefined ? config.speed : checkSpeed(callOptions.speed);
    const signal =
      callOptions.signal === undefined
        ? controller.signal
        : AbortSignal.any([controller.signal, callOptions.signal]);

    stats.started += 1;
    stats.byProvider[script.provider] += 1;
    stats.byOutcome[script.outcome] += 1;
    if (plan.some((step) => step.reordered)) stats.reorderedCalls += 1;
    call(options.onCallStart, script);

    const promise = execute(script, plan, { seed, speed, signal }).then((result) => {
      active.delete(promise);
      if (result.aborted) stats.aborted += 1;
      else stats.completed += 1;
      call(options.onCallEnd, result);
      notifyIdle();
      return result;
    });
    active.add(promise);
    return promise;
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

  return {
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
}

function resolveOptions(options: SimulatorOptions): Config {
  if (options == null || typeof options !== 'object') {
    fail('options with a target are required.');
  }
  let target: URL;
  try {
    target = new URL(options.target);
  } catch {
    fail(`target must be an absolute http(s) URL, got "${String(options.target)}".`);
  }
  if (target.protocol !== 'http:' && target.protocol !== 'https:') {
    fail(`target must be an http(s) URL, got "${options.target}".`);
  }
  const base = target.href.replace(/\/+$/, '');
  const prefix = normalizePath(options.pathPrefix ?? '/webhooks');
  const urls = {} as Record<SimulatorProvider, string>;
  for (const provider of simulatorProviders) {
    const path = options.paths?.[provider];
    urls[provider] = base + (path === undefined ? `${prefix}/${provider}` : normalizePath(path));
  }

  const lines = options.lines ?? demoLines;
  if (!Array.isArray(lines)) fail('lines must be an array of lines.');
  for (const line of lines as readonly Partial<SimulatorLine>[]) {
    if (!simulatorProviders.includes(line?.provider as SimulatorProvider)) {
      fail(`every line needs a known provider, got "${String(line?.provider)}".`);
    }
    if (typeof line.number !== 'string' || !/^\+\d{8,15}$/.test(line.number)) {
      fail(`line numbers must be E.164 (+14155550100), got "${String(line.number)}".`);
    }
    if (typeof line.tenantId !== 'string' || line.tenantId === '') {
      fail(`line ${line.number} needs a tenantId.`);
    }
  }
  const providers = [
    ...(options.providers ??
      simulatorProviders.filter((provider) => lines.some((line) => line.provider === provider))),
  ];
  if (providers.length === 0) {
    fail(options.providers ? 'providers must name at least one provider.' : 'lines is empty.');
  }
  for (const provider of providers) {
    if (!simulatorProviders.includes(provider)) fail(`unknown provider "${String(provider)}".`);
    if (!lines.some((line) => line.provider === provider)) {
      fail(`no line for provider "${provider}": add one to lines.`);
    }
  }

  const outcomes = options.outcomes ?? defaultOutcomeWeights;
  let totalWeight = 0;
  for (const [outcome, weight] of Object.entries(outcomes)) {
    if (!simulatedOutcomes.includes(outcome as SimulatedOutcome)) {
      fail(`unknown outcome "${outcome}" in outcomes.`);
    }
    if (weight !== undefined && (!Number.isFinite(weight) || weight < 0)) {
      fail(`the weight of "${outcome}" must be a number ≥ 0.`);
    }
    totalWeight += weight ?? 0;
  }
  if (totalWeight <= 0) fail('outcomes must give at least one outcome a weight above 0.');

  const rate = options.rate ?? 0.5;
  if (!Number.isFinite(rate) || rate <= 0)
    fail('rate must be a positive number of calls per second.');
  const maxActiveCalls = options.maxActiveCalls ?? Number.POSITIVE_INFINITY;
  if (!(maxActiveCalls >= 1)) fail('maxActiveCalls must be at least 1.');
  const maxCalls = options.maxCalls ?? Number.POSITIVE_INFINITY;
  if (!(maxCalls >= 0) || (Number.isFinite(maxCalls) && !Number.isInteger(maxCalls))) {
    fail('maxCalls must be a whole number ≥ 0.');
  }
  const timeoutMs = options.timeoutMs ?? 15_000;
  if (!Number.isFinite(timeoutMs) || timeoutMs <= 0) fail('timeoutMs must be a positive number.');
  const fetchFunction = options.fetch ?? globalThis.fetch;
  if (typeof fetchFunction !== 'function') fail('fetch must be a function.');
  const method = options.callerDeskMethod ?? 'POST';
  if (method !== 'GET' && method !== 'POST') fail('callerDeskMethod must be "GET" or "POST".');

  return {
    target: base,
    urls,
    providers,
    lines,
    credentials: { ...demoCredentials, ...definedOnly(options.credentials ?? {}) },
    rate,
    speed: checkSpeed(options.speed ?? 1),
    maxActiveCalls,
    maxCalls,
    outcomes,
    duplicateRate: share(options.duplicateRate ?? 0, 'duplicateRate'),
    reorderRate: share(options.reorderRate ?? 0, 'reorderRate'),
    seed:
      options.seed === undefined ? Math.floor(Math.random() * 2 ** 32) : checkSeed(options.seed),
    now: options.now ?? Date.now,
    callerDeskMethod: method,
    timeoutMs,
    fetch: fetchFunction,
  };
}

function chooseLine(callOptions: RunCallOptions, config: Config, random: Random): SimulatorLine {
  if (callOptions.line !== undefined) {
    if (callOptions.provider !== undefined && callOptions.provider !== callOptions.line.provider) {
      fail(
        `line ${callOptions.line.number} is a ${callOptions.line.provider} line, not ${callOptions.provider}.`,
      );
    }
    return callOptions.line;
  }
  const provider = callOptions.provider ?? random.pick(config.providers);
  const candidates = config.lines.filter((line) => line.provider === provider);
  if (candidates.length === 0) fail(`no line for provider "${String(provider)}".`);
  return random.pick(candidates);
}

function chooseOutcome(config: Config, random: Random): SimulatedOutcome {
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
    reorderedCalls: 0,
    byProvider: { twilio: 0, retell: 0, callerdesk: 0 },
    byOutcome: { completed: 0, 'no-answer': 0, busy: 0, failed: 0, voicemail: 0 },
    byHttpStatus: {},
    averageLatencyMs: 0,
    maxLatencyMs: 0,
  };
}

function normalizePath(path: string): string {
  if (typeof path !== 'string') fail('paths must be strings.');
  const trimmed = path.trim().replace(/\/+$/, '');
  if (trimmed === '') return '';
  return trimmed.startsWith('/') || trimmed.startsWith('?') ? trimmed : `/${trimmed}`;
}

function share(value: number, name: string): number {
  if (!Number.isFinite(value) || value < 0 || value > 1) fail(`${name} must be between 0 and 1.`);
  return value;
}

function checkSpeed(speed: number): number {
  if (typeof speed !== 'number' || Number.isNaN(speed) || speed <= 0) {
    fail('speed must be a positive number (Infinity sends without waiting).');
  }
  return speed;
}

function checkSeed(seed: number): number {
  if (!Number.isInteger(seed)) fail('seed must be an integer.');
  return seed >>> 0;
}

function definedOnly<Value extends object>(value: Value): Partial<Value> {
  return Object.fromEntries(
    Object.entries(value).filter(([, item]) => typeof item === 'string' && item !== ''),
  ) as Partial<Value>;
}

function fail(message: string): never {
  throw new InvalidArgumentError({ message: `createSimulator: ${message}` });
}

/** One controller for every running call: each waits on its signal, so lift Node's 10-listener warning. */
function sharedAbortController(): AbortController {
  const controller = new AbortController();
  setMaxListeners(0, controller.signal);
  return controller;
}
