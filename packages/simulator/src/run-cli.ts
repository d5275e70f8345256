import { parseArgs } from 'node:util';
import type { Clock } from '@calltrack/core';
import { createProviderApi } from './create-provider-api';
import { createSimulator } from './create-simulator';
import {
  explainDeliveryFailure,
  explainFailedDuplicate,
  explainLostWebhook,
} from './explain-delivery-failure';
import { formatDeliveryJson, formatDeliveryLine } from './format-delivery-line';
import { formatSummary } from './format-summary';
import type { ProviderApi } from './provider-api';
import { type SimulatedOutcome, simulatedOutcomes } from './simulated-outcome';
import type { SimulatorDelivery } from './simulator-delivery';
import type { SimulatorOptions } from './simulator-options';
import { type SimulatorProvider, simulatorProviders } from './simulator-provider';
import {
  type SimulatorRetryFailure,
  type SimulatorRetryPolicy,
  twilioMaxRetries,
} from './simulator-retry-policy';

/** Where the CLI writes and what it reads besides its arguments. @internal */
export interface CliEnvironment {
  /** Writes one line of normal output. */
  stdout: (line: string) => void;
  /** Writes one line of error output. */
  stderr: (line: string) => void;
  /** Environment variables (secrets). */
  env: Readonly<Record<string, string | undefined>>;
  /** Aborted on Ctrl+C / SIGTERM: the run stops, prints its summary and ends. */
  signal?: AbortSignal;
  /** The fetch to send with (tests). */
  fetch?: typeof fetch;
  /** The real time (tests move it on instead of waiting): Twilio's total timeout counts on it. */
  wallClock?: Clock;
}

/** Exit codes of `calltrack-sim`. @internal */
export const cliExitCodes = {
  ok: 0,
  /** Webhooks were rejected (4xx with no retry or duplicate left) or lost (failed with none left). */
  failed: 1,
  /** Bad arguments. */
  usage: 2,
  /** Interrupted before `--calls` calls completed. */
  interrupted: 130,
} as const;

const usage = `Usage: calltrack-sim --target <url> [options]

Sends realistic, correctly signed Twilio, Retell and CallerDesk webhooks to your app.

Options:
  --target <url>             Base URL of the app (required), e.g. http://localhost:3000
  --rate <n>                 New calls per second (default 0.5)
  --providers <list>         Comma-separated: twilio,retell,callerdesk (default all)
  --speed <n>                Time scale: 10 = ten times faster than real time; "max" = no waiting (default 1)
  --calls <n>                Stop after n calls and exit once they completed
  --outcomes <weights>       e.g. completed=6,no-answer=2,busy=1,failed=1,voicemail=1
  --duplicates <share>       Share 0..1 of webhooks delivered twice though the first was taken (default 0)
  --retries <n|list>         Retries of a delivery the app did not take: n for every provider (0: none), or
                             per provider, e.g. twilio=2,retell=0; Twilio takes 0 to 5, as its rc (so n
                             above 5 only when --providers leaves Twilio out) (default each provider's
                             own: Twilio 1 of a failed connection or timeout while its attempts took
                             under 15 s in all (tt), Retell 3 of any non-2xx or timeout, CallerDesk 0)
  --twilio-retry-policy <list>
                             What Twilio retries, as its rp: comma-separated ct (failed connection), rt (no
                             answer in time), 4xx, 5xx, all (default ct,rt), e.g. ct,rt,5xx
  --twilio-total-timeout <ms>
                             Time all attempts of a Twilio delivery may take together, as its tt: 100 to
                             15000 (default 15000)
  --reorder <share>          Share 0..1 of calls with an out-of-order delivery (default 0)
  --seed <n>                 Seed for reproducible traffic (default random, printed in the summary)
  --max-active <n>           At most n calls at once
  --path-prefix <path>       Prefix of the webhook paths (default /webhooks; Next.js example: /api/webhooks)
  --twilio-path <path>       Twilio path (default <prefix>/twilio); likewise --retell-path, --callerdesk-path.
                             A path may carry a query, e.g. '/webhooks/twilio?tenant=acme' for an app
                             that reads the tenant from its callback URLs (quote it in the shell)
  --twilio-auth-token <t>    Twilio Auth Token (env TWILIO_AUTH_TOKEN; default the demo token)
  --retell-api-key <k>       Retell API key (env RETELL_API_KEY; default the demo key)
  --callerdesk-token <t>     CallerDesk webhook token, sent as ?token= (env CALLERDESK_TOKEN; default the demo token)
  --callerdesk-method <m>    POST (JSON body, default) or GET (query string)
  --timeout <ms>             Give up on a delivery attempt after ms milliseconds (default 15000; Retell 10000)
  --provider-api <port>      Also serve the providers' call-control APIs on 127.0.0.1:<port> (0: any free
                             port): point the Twilio, Retell and CallerDesk clients' baseUrl at it to place
                             and end calls; runs until Ctrl+C. With --calls 0 it sends no calls of its own
  --twilio-account-sid <s>   Account SID the provider API expects (env TWILIO_ACCOUNT_SID; default the demo one)
  --callerdesk-auth-code <c> authcode the provider API expects (env CALLERDESK_AUTH_CODE; default the demo one)
  --keep-going               Never stop early (default: stop at the first webhook rejected, a 4xx with no
                             retry or duplicate of it left, and at the first webhook lost to a 5xx, a timeout
                             or a failed connection after its provider's last retry; Retell retries any
                             non-2xx, so a refused Retell webhook stops the run only when its last retry is
                             refused too, and a webhook whose duplicate the app takes is not lost). Still
                             exits 1
  --json                     One JSON line per delivery instead of text
  --quiet                    No line per delivery, only problems and the summary
  --help                     Show this help

Exit codes: 0 every webhook accepted (after retries or in a duplicate); 1 webhooks rejected (a 4xx with no
retry or duplicate left) or lost (failed with no retry or duplicate left); 2 bad arguments; 130 interrupted before --calls calls completed.`;

class UsageError extends Error {}

/**
 * The `calltrack-sim` command: parses `argv`, runs a simulator against `--target`, prints one
 * line per delivery and a summary, and resolves with the exit code.
 *
 * @internal
 */
export async function runCli(argv: readonly string[], io: CliEnvironment): Promise<number> {
  let parsed: ReturnType<typeof parse>;
  try {
    parsed = parse(argv, io.env);
  } catch (error) {
    if (!(error instanceof UsageError || isParseArgsError(error))) throw error;
    io.stderr(`calltrack-sim: ${(error as Error).message}`);
    io.stderr('Run calltrack-sim --help for the options.');
    return cliExitCodes.usage;
  }
  if (parsed === 'help') {
    for (const line of usage.split('\n')) io.stdout(line);
    return cliExitCodes.ok;
  }
  const { options, quiet, json, keepGoing, calls, providerApi } = parsed;

  const explained = new Set<string>();
  let stopping = false;
  let simulator: ReturnType<typeof createSimulator> | undefined;
  const stopWith = (reason: string) => {
    if (keepGoing || stopping) return;
    stopping = true;
    io.stderr(`Stopping: ${reason} (use --keep-going to continue).`);
    void simulator?.stop({ abort: true });
  };
  // The webhooks of each running call that a delivery was taken for, by script index: a failed
  // duplicate of one of them loses nothing (the app may rightly refuse what it already has).
  const takenWebhooks = new Map<string, Set<number>>();
  const callKey = (call: { provider: SimulatorProvider; callId: string }) =>
    `${call.provider} ${call.callId}`;
  const onDelivery = (delivery: SimulatorDelivery) => {
    if (!quiet) io.stdout(json ? formatDeliveryJson(delivery) : formatDeliveryLine(delivery));
    const call = callKey(delivery);
    if (delivery.ok) {
      const taken = takenWebhooks.get(call) ?? new Set<number>();
      taken.add(delivery.index);
      takenWebhooks.set(call, taken);
      return;
    }
    if (delivery.duplicate && takenWebhooks.get(call)?.has(delivery.index) === true) {
      const key = `${delivery.provider}:${delivery.status}:duplicate`;
      if (!explained.has(key)) {
        explained.add(key);
        io.stderr(`✖ ${explainFailedDuplicate(delivery)}`);
      }
      return;
    }
    const key = `${delivery.provider}:${delivery.status}`;
    if (!explained.has(key)) {
      explained.add(key);
      io.stderr(`✖ ${explainDeliveryFailure(delivery)}`);
    }
    // Only a webhook lost is reason to stop: a rejection the provider still retries (Retell
    // retries any non-2xx), or whose duplicate is still to come, is not final: the app may
    // take the later delivery.
    if (!delivery.lost) return;
    if (delivery.status >= 400 && delivery.status < 500) {
      const retried =
        delivery.retry === 0
          ? ''
          : ` (its ${delivery.retry} ${delivery.retry === 1 ? 'retry' : 'retries'} included)`;
      stopWith(`the app rejects the simulated webhooks${retried}`);
    } else {
      // A 5xx, a timeout or a failed connection the provider retries no more: in production
      // the app would have lost this event.
      stopWith(explainLostWebhook(delivery));
    }
  };
  try {
    simulator = createSimulator({
      ...options,
      onDelivery,
      onCallEnd: (call) => takenWebhooks.delete(callKey(call)),
      ...(io.fetch === undefined ? {} : { fetch: io.fetch }),
      ...(io.wallClock === undefined ? {} : { wallClock: io.wallClock }),
    });
  } catch (error) {
    io.stderr(`calltrack-sim: ${(error as Error).message.replace(/^createSimulator: /, '')}`);
    return cliExitCodes.usage;
  }
  const started = simulator;

  let api: ProviderApi | undefined;
  if (providerApi !== undefined) {
    try {
      api = createProviderApi({ simulator: started, ...providerApi.options });
      const url = await api.listen({ port: providerApi.port });
      io.stdout(
        `calltrack-sim provider API → ${url} (Twilio, Retell and CallerDesk clients: baseUrl ${url})`,
      );
    } catch (error) {
      io.stderr(`calltrack-sim: cannot serve the provider API: ${(error as Error).message}`);
      return cliExitCodes.failed;
    }
  }

  if (!quiet && !json) {
    const providers = (options.providers ?? simulatorProviders).join(', ');
    io.stdout(
      `calltrack-sim → ${options.target} · ${providers} · ${options.rate ?? 0.5} calls/s · speed ${options.speed === Number.POSITIVE_INFINITY ? 'max' : `${options.speed ?? 1}×`}${calls === undefined ? '' : ` · ${calls} call${calls === 1 ? '' : 's'}`} · seed ${started.seed}`,
    );
  }
  let interrupted = false;
  const onInterrupt = () => {
    interrupted = true;
    void started.stop({ abort: true });
  };
  if (io.signal?.aborted) onInterrupt();
  io.signal?.addEventListener('abort', onInterrupt, { once: true });

  started.start();
  await started.idle();
  if (api !== undefined) {
    // The provider API serves until Ctrl+C, then lets the calls it placed end.
    if (io.signal !== undefined && !io.signal.aborted) {
      const signal = io.signal;
      await new Promise<void>((resolve) =>
        signal.addEventListener('abort', () => resolve(), { once: true }),
      );
    }
    await api.close();
    await started.idle();
  }
  io.signal?.removeEventListener('abort', onInterrupt);

  const stats = started.stats;
  for (const line of formatSummary(stats, started.seed)) io.stdout(line);
  // Rejected webhooks are lost ones too; a refused delivery whose webhook was taken is neither.
  if (stats.lostWebhooks > 0) return cliExitCodes.failed;
  if (interrupted && calls !== undefined && stats.completed < calls)
    return cliExitCodes.interrupted;
  return cliExitCodes.ok;
}

function parse(argv: readonly string[], env: CliEnvironment['env']) {
  const { values, positionals } = parseArgs({
    args: [...argv],
    strict: true,
    allowPositionals: true,
    options: {
      target: { type: 'string', short: 't' },
      rate: { type: 'string', short: 'r' },
      providers: { type: 'string', short: 'p' },
      speed: { type: 'string', short: 's' },
      calls: { type: 'string', short: 'n' },
      outcomes: { type: 'string' },
      duplicates: { type: 'string' },
      retries: { type: 'string' },
      'twilio-retry-policy': { type: 'string' },
      'twilio-total-timeout': { type: 'string' },
      reorder: { type: 'string' },
      seed: { type: 'string' },
      'max-active': { type: 'string' },
      'path-prefix': { type: 'string' },
      'twilio-path': { type: 'string' },
      'retell-path': { type: 'string' },
      'callerdesk-path': { type: 'string' },
      'twilio-auth-token': { type: 'string' },
      'retell-api-key': { type: 'string' },
      'callerdesk-token': { type: 'string' },
      'callerdesk-method': { type: 'string' },
      timeout: { type: 'string' },
      'provider-api': { type: 'string' },
      'twilio-account-sid': { type: 'string' },
      'callerdesk-auth-code': { type: 'string' },
      'keep-going': { type: 'boolean' },
      json: { type: 'boolean' },
      quiet: { type: 'boolean', short: 'q' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) return 'help' as const;
  if (positionals.length > 0) throw new UsageError(`unexpected argument "${positionals[0]}".`);
  if (values.target === undefined)
    throw new UsageError('--target is required (e.g. --target http://localhost:3000).');

  const options: SimulatorOptions = { target: values.target };
  if (values.rate !== undefined) options.rate = positive(values.rate, '--rate');
  if (values.speed !== undefined) {
    options.speed = /^(max|inf(inity)?)$/i.test(values.speed)
      ? Number.POSITIVE_INFINITY
      : positive(values.speed, '--speed');
  }
  let calls: number | undefined;
  if (values.calls !== undefined) {
    // Zero calls of its own only makes sense next to the provider API.
    calls =
      values.calls === '0' && values['provider-api'] !== undefined
        ? 0
        : wholeNumber(values.calls, '--calls');
    options.maxCalls = calls;
  }
  if (values['max-active'] !== undefined) {
    options.maxActiveCalls = wholeNumber(values['max-active'], '--max-active');
  }
  if (values.providers !== undefined) options.providers = providerList(values.providers);
  if (values.outcomes !== undefined) options.outcomes = outcomeWeights(values.outcomes);
  if (values.duplicates !== undefined)
    options.duplicateRate = share(values.duplicates, '--duplicates');
  if (values.reorder !== undefined) options.reorderRate = share(values.reorder, '--reorder');
  const retries = retryOptions(
    options.providers ?? simulatorProviders,
    values.retries,
    values['twilio-retry-policy'],
    values['twilio-total-timeout'],
  );
  if (retries !== undefined) options.retries = retries;
  if (values.seed !== undefined) {
    if (!/^\d+$/.test(values.seed)) throw new UsageError('--seed must be a whole number.');
    options.seed = Number(values.seed) >>> 0;
  }
  if (values.timeout !== undefined) options.timeoutMs = positive(values.timeout, '--timeout');
  if (values['path-prefix'] !== undefined) options.pathPrefix = values['path-prefix'];
  const paths: Partial<Record<SimulatorProvider, string>> = {};
  for (const provider of simulatorProviders) {
    const path = values[`${provider}-path`];
    if (path !== undefined) paths[provider] = path;
  }
  if (Object.keys(paths).length > 0) options.paths = paths;
  const method = values['callerdesk-method']?.toUpperCase();
  if (method !== undefined) {
    if (method !== 'GET' && method !== 'POST')
      throw new UsageError('--callerdesk-method must be GET or POST.');
    options.callerDeskMethod = method;
  }
  const secret = (flag: string | undefined, ...names: string[]) =>
    flag ?? names.map((name) => env[name]).find((value) => value !== undefined && value !== '');
  const credentials: SimulatorOptions['credentials'] = {};
  const twilio = secret(values['twilio-auth-token'], 'TWILIO_AUTH_TOKEN');
  const retell = secret(values['retell-api-key'], 'RETELL_API_KEY');
  const callerDesk = secret(
    values['callerdesk-token'],
    'CALLERDESK_TOKEN',
    'CALLERDESK_WEBHOOK_TOKEN',
  );
  if (twilio !== undefined) credentials.twilioAuthToken = twilio;
  if (retell !== undefined) credentials.retellApiKey = retell;
  if (callerDesk !== undefined) credentials.callerDeskToken = callerDesk;
  options.credentials = credentials;
  let providerApi:
    | { port: number; options: { twilioAccountSid?: string; callerDeskAuthCode?: string } }
    | undefined;
  if (values['provider-api'] !== undefined) {
    const port = values['provider-api'];
    if (!/^\d{1,5}$/.test(port) || Number(port) > 65_535) {
      throw new UsageError(
        `--provider-api must be a port number (0 for any free port), not "${port}".`,
      );
    }
    const accountSid = secret(values['twilio-account-sid'], 'TWILIO_ACCOUNT_SID');
    const authCode = secret(values['callerdesk-auth-code'], 'CALLERDESK_AUTH_CODE');
    providerApi = {
      port: Number(port),
      options: {
        ...(accountSid === undefined ? {} : { twilioAccountSid: accountSid }),
        ...(authCode === undefined ? {} : { callerDeskAuthCode: authCode }),
      },
    };
  }
  return {
    options,
    calls,
    providerApi,
    quiet: values.quiet === true,
    json: values.json === true,
    keepGoing: values['keep-going'] === true,
  };
}

function positive(value: string, flag: string): number {
  const number = Number(value);
  if (value.trim() === '' || !Number.isFinite(number) || number <= 0) {
    throw new UsageError(`${flag} must be a positive number, not "${value}".`);
  }
  return number;
}

function wholeNumber(value: string, flag: string): number {
  if (!/^\d+$/.test(value) || Number(value) < 1) {
    throw new UsageError(`${flag} must be a whole number ≥ 1, not "${value}".`);
  }
  return Number(value);
}

function share(value: string, flag: string): number {
  const number = Number(value);
  if (value.trim() === '' || !(number >= 0 && number <= 1)) {
    throw new UsageError(`${flag} must be a share between 0 and 1, not "${value}".`);
  }
  return number;
}

/**
 * `--retries`: one count for every provider, or `provider=count` pairs. One count is held to
 * Twilio's limit only when Twilio is among the run's `providers`.
 */
function retryCounts(
  value: string,
  providers: readonly SimulatorProvider[],
): number | Partial<Record<SimulatorProvider, number>> {
  const count = (text: string) => {
    if (!/^\d+$/.test(text)) {
      throw new UsageError(`--retries counts must be whole numbers ≥ 0, not "${text}".`);
    }
    return Number(text);
  };
  if (!value.includes('=')) {
    const every = count(value.trim());
    if (providers.includes('twilio')) checkTwilioEveryCount(every);
    return every;
  }
  const counts: Partial<Record<SimulatorProvider, number>> = {};
  for (const item of value.split(',')) {
    if (item.trim() === '') continue;
    const [name = '', text = ''] = item.split('=').map((part) => part.trim().toLowerCase());
    if (!simulatorProviders.includes(name as SimulatorProvider)) {
      throw new UsageError(
        `unknown provider "${name}" in --retries (known: ${simulatorProviders.join(', ')}).`,
      );
    }
    counts[name as SimulatorProvider] = count(text);
    if (name === 'twilio' && Number(text) > twilioMaxRetries) {
      throw new UsageError(
        `--retries twilio= must be 0 to ${twilioMaxRetries} (Twilio's rc), not "${text}".`,
      );
    }
  }
  return counts;
}

/**
 * `options.retries` from `--retries` and Twilio's connection overrides: `--twilio-retry-policy`
 * (`rp`) and `--twilio-total-timeout` (`tt`) refine Twilio's policy, with its count from
 * `--retries` when given.
 */
function retryOptions(
  providers: readonly SimulatorProvider[],
  counts: string | undefined,
  twilioRetryPolicy: string | undefined,
  twilioTotalTimeout: string | undefined,
): SimulatorOptions['retries'] {
  const parsed = counts === undefined ? undefined : retryCounts(counts, providers);
  const twilio: Partial<SimulatorRetryPolicy> = {};
  if (twilioRetryPolicy !== undefined) twilio.on = twilioRetryFailures(twilioRetryPolicy);
  if (twilioTotalTimeout !== undefined) {
    twilio.totalTimeoutMs = twilioTotalTimeoutMs(twilioTotalTimeout);
  }
  if (Object.keys(twilio).length === 0) return parsed;
  const perProvider: Partial<Record<SimulatorProvider, number>> =
    typeof parsed === 'number'
      ? Object.fromEntries(simulatorProviders.map((provider) => [provider, parsed]))
      : { ...parsed };
  const count = perProvider.twilio;
  // Twilio's flags make one count Twilio's own, so it meets Twilio's limit in any run.
  if (typeof parsed === 'number') checkTwilioEveryCount(parsed);
  return { ...perProvider, twilio: { ...twilio, ...(count === undefined ? {} : { count }) } };
}

/** Refuses one `--retries` count for every provider that Twilio's `rc` cannot take. */
function checkTwilioEveryCount(every: number): void {
  if (every > twilioMaxRetries) {
    throw new UsageError(
      `--retries ${every} would give Twilio ${every} retries: Twilio's rc allows 0 to ${twilioMaxRetries}. Give counts per provider, e.g. --retries twilio=${twilioMaxRetries},retell=${every},callerdesk=${every}.`,
    );
  }
}

/** Twilio's `rp` values and the failures they retry: a connect timeout (`ct`) is a failed connection. */
const twilioRetryPolicyValues: Readonly<Record<string, readonly SimulatorRetryFailure[]>> = {
  ct: ['connection'],
  rt: ['timeout'],
  '4xx': ['4xx'],
  '5xx': ['5xx'],
  all: ['connection', 'timeout', '4xx', '5xx'],
};

/** `--twilio-retry-policy`: Twilio's `rp`, a comma-separated list of `ct`, `rt`, `4xx`, `5xx`, `all`. */
function twilioRetryFailures(value: string): SimulatorRetryFailure[] {
  const names = value
    .split(',')
    .map((item) => item.trim().toLowerCase())
    .filter((item) => item !== '');
  if (names.length === 0) {
    throw new UsageError(
      '--twilio-retry-policy needs at least one of ct, rt, 4xx, 5xx, all (to turn retries off: --retries twilio=0).',
    );
  }
  const failures = new Set<SimulatorRetryFailure>();
  for (const name of names) {
    const mapped = Object.hasOwn(twilioRetryPolicyValues, name)
      ? twilioRetryPolicyValues[name]
      : undefined;
    if (mapped === undefined) {
      throw new UsageError(
        `unknown value "${name}" in --twilio-retry-policy (Twilio's rp: ct, rt, 4xx, 5xx, all).`,
      );
    }
    for (const failure of mapped) failures.add(failure);
  }
  return [...failures];
}

/** `--twilio-total-timeout`: Twilio's `tt`, whole milliseconds from 100 to 15000. */
function twilioTotalTimeoutMs(value: string): number {
  const ms = Number(value);
  if (!/^\d+$/.test(value.trim()) || ms < 100 || ms > 15_000) {
    throw new UsageError(
      `--twilio-total-timeout must be whole milliseconds from 100 to 15000 (Twilio's tt), not "${value}".`,
    );
  }
  return ms;
}

function providerList(value: string): SimulatorProvider[] {
  const providers = value
    .split(',')
    .map((item) => item.trim().toLowerCase())
    .filter((item) => item !== '');
  if (providers.length === 0) throw new UsageError('--providers needs at least one provider.');
  for (const provider of providers) {
    if (!simulatorProviders.includes(provider as SimulatorProvider)) {
      throw new UsageError(
        `unknown provider "${provider}" in --providers (known: ${simulatorProviders.join(', ')}).`,
      );
    }
  }
  return [...new Set(providers)] as SimulatorProvider[];
}

function outcomeWeights(value: string): Partial<Record<SimulatedOutcome, number>> {
  const weights: Partial<Record<SimulatedOutcome, number>> = {};
  for (const item of value.split(',')) {
    if (item.trim() === '') continue;
    const [name = '', weight = '1'] = item.split('=').map((part) => part.trim());
    if (!simulatedOutcomes.includes(name as SimulatedOutcome)) {
      throw new UsageError(
        `unknown outcome "${name}" in --outcomes (known: ${simulatedOutcomes.join(', ')}).`,
      );
    }
    const number = Number(weight);
    if (weight === '' || !Number.isFinite(number) || number < 0) {
      throw new UsageError(`the weight of "${name}" in --outcomes must be a number ≥ 0.`);
    }
    weights[name as SimulatedOutcome] = number;
  }
  if (!Object.values(weights).some((weight) => weight > 0)) {
    throw new UsageError('--outcomes must give at least one outcome a weight above 0.');
  }
  return weights;
}

function isParseArgsError(error: unknown): boolean {
  const code = (error as { code?: unknown } | undefined)?.code;
  return typeof code === 'string' && code.startsWith('ERR_PARSE_ARGS');
}
