import { InvalidArgumentError } from '@calltrack/core';
import { demoCredentials, type SimulatorCredentials } from './demo-credentials';
import { demoLines } from './demo-lines';
import {
  defaultOutcomeWeights,
  type SimulatedOutcome,
  simulatedOutcomes,
} from './simulated-outcome';
import type { SimulatorLine } from './simulator-line';
import type { SimulatorOptions } from './simulator-options';
import { type SimulatorProvider, simulatorProviders } from './simulator-provider';
import {
  defaultRetryPolicies,
  type SimulatorRetryFailure,
  type SimulatorRetryPolicy,
  simulatorRetryFailures,
  twilioMaxRetries,
} from './simulator-retry-policy';

/**
 * {@link SimulatorOptions} with every default applied and every value checked: what the
 * simulator runs on. @internal
 */
export interface ResolvedSimulatorOptions {
  /** The target without a trailing slash. */
  target: string;
  /** Each provider's full webhook URL (target + path, its query kept). */
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
  /** The real time, ms since the epoch: Retell's signing time, `sentAt`, Twilio's `tt` budget. */
  wallNow: () => number;
  callerDeskMethod: 'GET' | 'POST';
  /** Each provider's delivery timeout. */
  timeoutMs: Readonly<Record<SimulatorProvider, number>>;
  /** Each provider's retry policy. */
  retries: Readonly<Record<SimulatorProvider, SimulatorRetryPolicy>>;
  fetch: typeof fetch;
}

/** How long each provider waits for an answer by default. */
const defaultTimeoutMs: Readonly<Record<SimulatorProvider, number>> = {
  twilio: 15_000, // its read timeout (connection overrides: rt)
  retell: 10_000, // webhook_timeout_ms
  callerdesk: 15_000, // undocumented: as Twilio
};

/**
 * Checks `options` and applies the defaults (demo lines and credentials, `/webhooks/<provider>`
 * paths, rate 0.5, speed 1, a random seed…). Throws `InvalidArgumentError` naming the first
 * invalid option. @internal
 */
export function resolveSimulatorOptions(options: SimulatorOptions): ResolvedSimulatorOptions {
  if (options == null || typeof options !== 'object') {
    failOption('options with a target are required.');
  }
  let target: URL;
  try {
    target = new URL(options.target);
  } catch {
    failOption(`target must be an absolute http(s) URL, got "${String(options.target)}".`);
  }
  if (target.protocol !== 'http:' && target.protocol !== 'https:') {
    failOption(`target must be an http(s) URL, got "${options.target}".`);
  }
  const { clock, wallClock } = options;
  const base = target.href.replace(/\/+$/, '');
  const prefix = normalizePath(options.pathPrefix ?? '/webhooks');
  const urls = {} as Record<SimulatorProvider, string>;
  for (const provider of simulatorProviders) {
    const path = options.paths?.[provider];
    urls[provider] = base + (path === undefined ? `${prefix}/${provider}` : normalizePath(path));
  }

  const lines = options.lines ?? demoLines;
  if (!Array.isArray(lines)) failOption('lines must be an array of lines.');
  for (const line of lines as readonly Partial<SimulatorLine>[]) {
    if (!simulatorProviders.includes(line?.provider as SimulatorProvider)) {
      failOption(`every line needs a known provider, got "${String(line?.provider)}".`);
    }
    if (typeof line.number !== 'string' || !/^\+\d{8,15}$/.test(line.number)) {
      failOption(`line numbers must be E.164 (+14155550100), got "${String(line.number)}".`);
    }
    if (typeof line.tenantId !== 'string' || line.tenantId === '') {
      failOption(`line ${line.number} needs a tenantId.`);
    }
  }
  const providers = [
    ...(options.providers ??
      simulatorProviders.filter((provider) => lines.some((line) => line.provider === provider))),
  ];
  if (providers.length === 0) {
    failOption(
      options.providers ? 'providers must name at least one provider.' : 'lines is empty.',
    );
  }
  for (const provider of providers) {
    if (!simulatorProviders.includes(provider))
      failOption(`unknown provider "${String(provider)}".`);
    if (!lines.some((line) => line.provider === provider)) {
      failOption(`no line for provider "${provider}": add one to lines.`);
    }
  }

  const outcomes = options.outcomes ?? defaultOutcomeWeights;
  let totalWeight = 0;
  for (const [outcome, weight] of Object.entries(outcomes)) {
    if (!simulatedOutcomes.includes(outcome as SimulatedOutcome)) {
      failOption(`unknown outcome "${outcome}" in outcomes.`);
    }
    if (weight !== undefined && (!Number.isFinite(weight) || weight < 0)) {
      failOption(`the weight of "${outcome}" must be a number ≥ 0.`);
    }
    totalWeight += weight ?? 0;
  }
  if (totalWeight <= 0) failOption('outcomes must give at least one outcome a weight above 0.');

  const rate = options.rate ?? 0.5;
  if (!Number.isFinite(rate) || rate <= 0)
    failOption('rate must be a positive number of calls per second.');
  const maxActiveCalls = options.maxActiveCalls ?? Number.POSITIVE_INFINITY;
  if (!(maxActiveCalls >= 1)) failOption('maxActiveCalls must be at least 1.');
  const maxCalls = options.maxCalls ?? Number.POSITIVE_INFINITY;
  if (!(maxCalls >= 0) || (Number.isFinite(maxCalls) && !Number.isInteger(maxCalls))) {
    failOption('maxCalls must be a whole number ≥ 0.');
  }
  if (
    options.timeoutMs !== undefined &&
    (!Number.isFinite(options.timeoutMs) || options.timeoutMs <= 0)
  ) {
    failOption('timeoutMs must be a positive number.');
  }
  const timeoutMs = { ...defaultTimeoutMs };
  if (options.timeoutMs !== undefined) {
    for (const provider of simulatorProviders) timeoutMs[provider] = options.timeoutMs;
  }
  const fetchFunction = options.fetch ?? globalThis.fetch;
  if (typeof fetchFunction !== 'function') failOption('fetch must be a function.');
  const method = options.callerDeskMethod ?? 'POST';
  if (method !== 'GET' && method !== 'POST')
    failOption('callerDeskMethod must be "GET" or "POST".');

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
    duplicateRate: checkShare(options.duplicateRate ?? 0, 'duplicateRate'),
    reorderRate: checkShare(options.reorderRate ?? 0, 'reorderRate'),
    seed:
      options.seed === undefined ? Math.floor(Math.random() * 2 ** 32) : checkSeed(options.seed),
    now: clock === undefined ? Date.now : () => clock.now(),
    wallNow: wallClock === undefined ? Date.now : () => wallClock.now(),
    callerDeskMethod: method,
    timeoutMs,
    retries: resolveRetries(options.retries, providers),
    fetch: fetchFunction,
  };
}

/**
 * Each provider's retry policy: its default, with the count and failures `retries` gives. One
 * count for every provider is held to Twilio's limit only when Twilio is among the run's
 * `providers`: a run without Twilio may retry the others more.
 */
function resolveRetries(
  retries: SimulatorOptions['retries'],
  providers: readonly SimulatorProvider[],
): Record<SimulatorProvider, SimulatorRetryPolicy> {
  const resolved = { ...defaultRetryPolicies };
  if (retries === undefined) return resolved;
  if (typeof retries === 'number') {
    const count = checkRetryCount(retries, 'retries');
    if (providers.includes('twilio')) checkTwilioRetries(count);
    for (const provider of simulatorProviders) {
      resolved[provider] = { ...resolved[provider], count };
    }
    return resolved;
  }
  if (retries === null || typeof retries !== 'object') {
    failOption('retries must be a count or an object with a policy per provider.');
  }
  for (const [provider, policy] of Object.entries(retries)) {
    if (!simulatorProviders.includes(provider as SimulatorProvider)) {
      failOption(`unknown provider "${provider}" in retries.`);
    }
    const name = `retries.${provider}`;
    const current = resolved[provider as SimulatorProvider];
    if (policy === undefined) continue;
    if (typeof policy === 'number') {
      resolved[provider as SimulatorProvider] = {
        ...current,
        count: checkRetryCount(policy, name, provider as SimulatorProvider),
      };
      continue;
    }
    if (policy === null || typeof policy !== 'object') {
      failOption(`${name} must be a count or { count, on }.`);
    }
    const on = policy.on ?? current.on;
    if (
      !Array.isArray(on) ||
      !on.every((failure) => simulatorRetryFailures.includes(failure as SimulatorRetryFailure))
    ) {
      failOption(`${name}.on must list failures of ${simulatorRetryFailures.join(', ')}.`);
    }
    const totalTimeoutMs = policy.totalTimeoutMs ?? current.totalTimeoutMs;
    if (
      totalTimeoutMs !== undefined &&
      (typeof totalTimeoutMs !== 'number' || Number.isNaN(totalTimeoutMs) || totalTimeoutMs <= 0)
    ) {
      failOption(`${name}.totalTimeoutMs must be a positive number of milliseconds.`);
    }
    resolved[provider as SimulatorProvider] = {
      count:
        policy.count === undefined
          ? current.count
          : checkRetryCount(policy.count, name, provider as SimulatorProvider),
      on: [...new Set(on)],
      ...(totalTimeoutMs === undefined ? {} : { totalTimeoutMs }),
    };
  }
  return resolved;
}

function checkRetryCount(count: number, name: string, provider?: SimulatorProvider): number {
  if (!Number.isInteger(count) || count < 0) {
    failOption(`${name} must be a whole number of retries ≥ 0.`);
  }
  if (provider === 'twilio' && count > twilioMaxRetries) {
    failOption(`${name} must be 0 to ${twilioMaxRetries} retries (Twilio's rc), got ${count}.`);
  }
  return count;
}

/**
 * Throws when one count for every provider (`retries: n`) would give Twilio more retries than
 * its `rc` allows: at the start for a run with Twilio, else when a Twilio call is started anyway
 * (`runCall({ provider: 'twilio' })`, the provider API). @internal
 */
export function checkTwilioRetries(count: number): void {
  if (count > twilioMaxRetries) {
    failOption(
      `retries gives Twilio ${count} retries, but Twilio's rc allows 0 to ${twilioMaxRetries}: give counts per provider (e.g. { twilio: ${twilioMaxRetries}, retell: ${count} }).`,
    );
  }
}

/** A path with a leading slash (or a bare `?query`) and no trailing slash. */
function normalizePath(path: string): string {
  if (typeof path !== 'string') failOption('paths must be strings.');
  const trimmed = path.trim().replace(/\/+$/, '');
  if (trimmed === '') return '';
  return trimmed.startsWith('/') || trimmed.startsWith('?') ? trimmed : `/${trimmed}`;
}

/** `value` when it is a share 0..1, else throws for option `name`. @internal */
export function checkShare(value: number, name: string): number {
  if (!Number.isFinite(value) || value < 0 || value > 1) {
    failOption(`${name} must be between 0 and 1.`);
  }
  return value;
}

/** `speed` when it is positive (`Infinity` included), else throws. @internal */
export function checkSpeed(speed: number): number {
  if (typeof speed !== 'number' || Number.isNaN(speed) || speed <= 0) {
    failOption('speed must be a positive number (Infinity sends without waiting).');
  }
  return speed;
}

/** `seed` as an unsigned 32-bit integer, or throws when it is not an integer. @internal */
export function checkSeed(seed: number): number {
  if (!Number.isInteger(seed)) failOption('seed must be an integer.');
  return seed >>> 0;
}

function definedOnly<Value extends object>(value: Value): Partial<Value> {
  return Object.fromEntries(
    Object.entries(value).filter(([, item]) => typeof item === 'string' && item !== ''),
  ) as Partial<Value>;
}

/** Throws the `InvalidArgumentError` of an invalid simulator option. @internal */
export function failOption(message: string): never {
  throw new InvalidArgumentError({ message: `createSimulator: ${message}` });
}
