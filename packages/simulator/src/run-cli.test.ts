import { createServer } from 'node:http';
import { serveForTest, stopTestServers } from '@calltrack/test-utils';
import { createTwilioClient } from '@calltrack/twilio';
import { afterEach, describe, expect, it } from 'vitest';
import { type InterceptedAnswer, startWebhookApp } from './__tests__/start-webhook-app';
import { demoCredentials } from './demo-credentials';
import { type CliEnvironment, cliExitCodes, runCli } from './run-cli';

afterEach(stopTestServers);

async function run(
  argv: string[],
  env: Record<string, string> = {},
  more: Pick<CliEnvironment, 'signal' | 'wallClock'> = {},
) {
  const stdout: string[] = [];
  const stderr: string[] = [];
  const io: CliEnvironment = {
    stdout: (line) => stdout.push(line),
    stderr: (line) => stderr.push(line),
    env,
    ...more,
  };
  const code = await runCli(argv, io);
  return { code, stdout, stderr };
}

/** Runs the CLI with stdout and stderr in one log, stderr lines marked. */
async function runCliLogged(args: string[]): Promise<{ code: number; log: string[] }> {
  const log: string[] = [];
  const code = await runCli(args, {
    stdout: (line) => log.push(line),
    stderr: (line) => log.push(`stderr: ${line}`),
    env: {},
  });
  return { code, log };
}

/** What an app in an outage answers. */
const busDown: InterceptedAnswer = {
  status: 503,
  body: { error: { code: 'bus_unavailable', message: 'Bus down.' } },
};

/**
 * An app that answers `answer` (default 503 `bus_unavailable`) to the first `refusals`
 * deliveries of every webhook (by URL and body) and takes the rest; `attempts` counts the
 * deliveries of each.
 */
async function startRefusingApp(refusals: number, answer: InterceptedAnswer = busDown) {
  const attempts = new Map<string, number>();
  const app = await startWebhookApp({
    intercept: (request) => {
      const key = `${request.url} ${request.body}`;
      const seen = attempts.get(key) ?? 0;
      attempts.set(key, seen + 1);
      return seen < refusals ? answer : undefined;
    },
  });
  return { app, attempts };
}

describe('runCli arguments', () => {
  it('prints the help', async () => {
    const { code, stdout } = await run(['--help']);
    expect(code).toBe(cliExitCodes.ok);
    expect(stdout[0]).toBe('Usage: calltrack-sim --target <url> [options]');
    for (const flag of [
      '--rate',
      '--providers',
      '--speed',
      '--calls',
      '--duplicates',
      '--retries',
      '--reorder',
      '--seed',
      '--path-prefix',
      '--twilio-retry-policy',
      '--twilio-total-timeout',
      '--keep-going',
      '--quiet',
    ]) {
      expect(stdout.join('\n')).toContain(flag);
    }
  });

  it.each([
    [[], /--target is required/],
    [['--target', 'http://x', '--rate', '0'], /--rate must be a positive number/],
    [['--target', 'http://x', '--speed', 'fast'], /--speed must be a positive number/],
    [['--target', 'http://x', '--calls', '2.5'], /--calls must be a whole number/],
    [['--target', 'http://x', '--duplicates', '1.5'], /--duplicates must be a share/],
    [['--target', 'http://x', '--reorder', 'x'], /--reorder must be a share/],
    [['--target', 'http://x', '--providers', 'twilio,vapi'], /unknown provider "vapi"/],
    [['--target', 'http://x', '--outcomes', 'completed=1,hangup=2'], /unknown outcome "hangup"/],
    [['--target', 'http://x', '--outcomes', 'completed=0'], /at least one outcome/],
    [['--target', 'http://x', '--seed=-1'], /--seed must be a whole number/],
    [['--target', 'http://x', '--callerdesk-method', 'PUT'], /GET or POST/],
    [['--target', 'http://x', '--retries=-1'], /--retries counts must be whole numbers/],
    [['--target', 'http://x', '--retries', 'retell=x'], /--retries counts must be whole numbers/],
    [['--target', 'http://x', '--retries', 'vapi=1'], /unknown provider "vapi" in --retries/],
    // Twilio's connection override rc takes 0 to 5 retries.
    [
      ['--target', 'http://x', '--retries', 'twilio=6'],
      /--retries twilio= must be 0 to 5 \(Twilio's rc\), not "6"/,
    ],
    [
      ['--target', 'http://x', '--retries', '6'],
      /--retries 6 would give Twilio 6 retries: Twilio's rc allows 0 to 5.*--retries twilio=5,retell=6,callerdesk=6/,
    ],
    [
      ['--target', 'http://x', '--providers', 'retell,twilio', '--retries', '6'],
      /--retries 6 would give Twilio 6 retries: Twilio's rc allows 0 to 5/,
    ],
    // Twilio's own flags make the count Twilio's, Twilio in the run or not.
    [
      ['--target', 'http://x', '--providers', 'retell', '--retries', '6'].concat(
        '--twilio-retry-policy',
        '5xx',
      ),
      /--retries 6 would give Twilio 6 retries: Twilio's rc allows 0 to 5/,
    ],
    [
      ['--target', 'http://x', '--twilio-retry-policy', 'ct,6xx'],
      /unknown value "6xx" in --twilio-retry-policy \(Twilio's rp: ct, rt, 4xx, 5xx, all\)/,
    ],
    [
      ['--target', 'http://x', '--twilio-retry-policy', ','],
      /--twilio-retry-policy needs at least one/,
    ],
    ...['0', '99', '15001', '1.5e3', 'soon', ''].map((value): [string[], RegExp] => [
      ['--target', 'http://x', '--twilio-total-timeout', value],
      /--twilio-total-timeout must be whole milliseconds from 100 to 15000 \(Twilio's tt\)/,
    ]),
    [['--target', 'http://x', '--nope'], /Unknown option '--nope'/],
    [['--target', 'http://x', 'extra'], /unexpected argument "extra"/],
    [['--target', 'not a url'], /target must be an absolute http\(s\) URL/],
  ])('refuses %j with exit code 2', async (argv, message) => {
    const { code, stderr } = await run(argv);
    expect(code).toBe(cliExitCodes.usage);
    expect(stderr.join('\n')).toMatch(message);
  });
});

describe('runCli against the real handlers', () => {
  it('takes secrets from the environment and sends to a path prefix', async () => {
    const app = await startWebhookApp({
      prefix: '/api/webhooks',
      credentials: {
        twilioAuthToken: 'env-twilio-token',
        retellApiKey: 'env-retell-key',
        callerDeskToken: 'env-callerdesk-token-0123456',
      },
    });
    const { code, stdout, stderr } = await run(
      [
        '--target',
        app.url,
        '--path-prefix',
        '/api/webhooks',
        '--calls',
        '6',
        '--rate',
        '100',
        '--speed',
        'max',
        '--seed',
        '3',
      ],
      {
        TWILIO_AUTH_TOKEN: 'env-twilio-token',
        RETELL_API_KEY: 'env-retell-key',
        CALLERDESK_WEBHOOK_TOKEN: 'env-callerdesk-token-0123456',
      },
    );
    expect(stderr).toEqual([]);
    expect(code).toBe(cliExitCodes.ok);
    expect(stdout.join('\n')).toMatch(/6 started, 6 completed/);
    expect(app.received.every((request) => request.url.startsWith('/api/webhooks/'))).toBe(true);
  });

  it('flags override the environment', async () => {
    const app = await startWebhookApp({ credentials: { retellApiKey: 'flag-key' } });
    const { code } = await run(
      [
        '--target',
        app.url,
        '--providers',
        'retell',
        '--calls',
        '1',
        '--speed',
        'max',
        '--retell-api-key',
        'flag-key',
      ],
      { RETELL_API_KEY: 'env-key' },
    );
    expect(code).toBe(cliExitCodes.ok);
  });

  it("--twilio-path with ?tenant= feeds an app that resolves Twilio's tenant from the query", async () => {
    const app = await startWebhookApp({ twilioTenantFrom: 'query' });
    const argv = ['--target', app.url, '--providers', 'twilio', '--calls', '4', '--speed', 'max'];

    // Without the query, the app cannot tell whose call it is.
    const bare = await run([...argv, '--seed', '5']);
    expect(bare.code).toBe(cliExitCodes.failed);
    expect(bare.stderr[0]).toMatch(/^✖ 422 from \/webhooks\/twilio/);

    const { code, stdout, stderr } = await run([
      ...argv,
      '--seed',
      '6',
      '--twilio-path',
      '/webhooks/twilio?tenant=demo',
    ]);
    expect(stderr).toEqual([]);
    expect(code).toBe(cliExitCodes.ok);
    expect(stdout.join('\n')).toMatch(/4 started, 4 completed/);
    const tracked = app.received.filter((request) => request.url.includes('tenant=demo'));
    expect(tracked.length).toBeGreaterThanOrEqual(8);
    const ended = app.bus.events.filter((event) => event.type === 'call.ended');
    expect(ended.map((event) => event.tenantId)).toEqual(['demo', 'demo', 'demo', 'demo']);
  });

  it("rides out an outage with the providers' retries (exit 0); with --retries 0 the webhooks are lost (exit 1)", async () => {
    // The app answers 503 bus_unavailable to the first delivery of every webhook.
    const { app } = await startRefusingApp(1);
    const argv = ['--target', app.url, '--calls', '2', '--speed', 'max', '--seed', '4'];
    const retried = await run([...argv, '--providers', 'retell']);
    expect(retried.code).toBe(cliExitCodes.ok);
    expect(retried.stderr[0]).toMatch(
      /^✖ 503 from \/webhooks\/retell: .*Bus down.*Retell sends it again/,
    );
    expect(retried.stdout.join('\n')).toMatch(/retry 1/);
    expect(retried.stdout.join('\n')).toMatch(/failed, (\d+) retries, 0 lost \(0 rejected\)/);
    const ended = app.bus.events.filter((event) => event.type === 'call.ended');
    expect(ended).toHaveLength(2);

    const lost = await run([...argv, '--seed', '5', '--providers', 'retell', '--retries', '0']);
    expect(lost.code).toBe(cliExitCodes.failed);
    expect(lost.stdout.join('\n')).toMatch(/0 retries, [1-9]\d* lost/);
  });

  it('takes one --retries count above 5 for a run without Twilio (its rc limit is not theirs)', async () => {
    // The app answers 503 to the first six attempts of every webhook, and takes the seventh.
    const { app, attempts } = await startRefusingApp(6);
    const { code, stdout, stderr } = await run([
      ...['--target', app.url, '--providers', 'retell,callerdesk', '--retries', '6'],
      ...['--calls', '2', '--rate', '100', '--speed', 'max', '--seed', '21', '--quiet'],
    ]);
    expect(code).toBe(cliExitCodes.ok);
    expect(stderr.every((line) => line.startsWith('✖ 503'))).toBe(true);
    expect(stdout.join('\n')).toMatch(/2 started, 2 completed/);
    const summary = stdout.join('\n');
    const [, sent, retries] =
      /webhooks +(\d+) sent, \d+ failed, (\d+) retries, 0 lost \(0 rejected\)/.exec(summary) ?? [];
    // Every webhook took its sixth retry: seven attempts each.
    expect(Number(retries)).toBe((6 / 7) * Number(sent));
    expect([...attempts.values()].every((count) => count === 7)).toBe(true);
  });

  it('exits 1 when Ctrl+C drops the retries of webhooks the app never took', async () => {
    const app = await startWebhookApp({
      intercept: () => ({
        status: 503,
        body: { error: { code: 'bus_unavailable', message: 'Bus down.' } },
      }),
    });
    const interrupt = new AbortController();
    const stdout: string[] = [];
    const code = await runCli(
      ['--target', app.url, '--providers', 'retell', '--calls', '1', '--speed', '100', '--json'],
      {
        stdout: (line) => {
          stdout.push(line);
          // Ctrl+C after the second delivery, while Retell's retry waits its 10 s.
          if (stdout.length === 2) interrupt.abort();
        },
        stderr: () => {},
        env: {},
        signal: interrupt.signal,
      },
    );
    expect(app.received).toHaveLength(2);
    expect(stdout.join('\n')).toMatch(/2 sent, 2 failed, [01] retries, [12] lost \(0 rejected\)/);
    expect(code).toBe(cliExitCodes.failed);
  });

  it('exits 0 when the app took every webhook and only failed their duplicates', async () => {
    const seen = new Set<string>();
    const app = await startWebhookApp({
      intercept: (request) => {
        const key = `${request.url} ${request.body}`;
        if (!seen.has(key)) {
          seen.add(key);
          return undefined;
        }
        return { status: 503, body: { error: { code: 'bus_unavailable', message: 'Bus down.' } } };
      },
    });
    const { code, stdout } = await run([
      '--target',
      app.url,
      '--providers',
      'twilio',
      '--duplicates',
      '1',
      '--calls',
      '1',
      '--speed',
      'max',
      '--seed',
      '6',
    ]);
    const summary = stdout.join('\n');
    const webhooks = app.received.length / 2;
    expect(summary).toMatch(
      new RegExp(`${webhooks} failed, 0 retries, 0 lost \\(0 rejected\\), ${webhooks} duplicates`),
    );
    expect(code).toBe(cliExitCodes.ok);
  });

  describe('a failed duplicate of a webhook the app took loses nothing', () => {
    /** An app that takes the first delivery of every webhook and answers its duplicate `answer`. */
    function failingDuplicates(answer: InterceptedAnswer) {
      const seen = new Set<string>();
      return startWebhookApp({
        intercept: (request) => {
          const key = `${request.url} ${request.body}`;
          if (seen.has(key)) return answer;
          seen.add(key);
          return undefined;
        },
      });
    }
    const alreadyTaken = {
      status: 409,
      body: { error: { code: 'duplicate', message: 'Already processed.' } },
    };

    it('neither stops nor counts a rejected webhook when Twilio duplicates are answered 4xx', async () => {
      const app = await failingDuplicates(alreadyTaken);
      const { code, stdout, stderr } = await run([
        ...['--target', app.url, '--providers', 'twilio', '--duplicates', '1', '--calls', '2'],
        ...['--rate', '100', '--speed', 'max', '--seed', '16', '--quiet'],
      ]);
      expect(stderr).toEqual([
        expect.stringMatching(
          /^✖ 409 \(Already processed\.\) from \/webhooks\/twilio to a duplicate of the twilio status:\S+ webhook, which the app took: nothing is lost\.$/,
        ),
      ]);
      expect(code).toBe(cliExitCodes.ok);
      const summary = stdout.join('\n');
      expect(summary).toMatch(/2 started, 2 completed/);
      // Every duplicate was a failed delivery, and no webhook was lost or rejected.
      const webhooks = app.received.length / 2;
      expect(summary).toMatch(
        new RegExp(
          `${2 * webhooks} sent, ${webhooks} failed, 0 retries, 0 lost \\(0 rejected\\), ${webhooks} duplicates`,
        ),
      );
      expect(app.bus.events.filter((event) => event.type === 'call.ended')).toHaveLength(2);
    });

    it("runs on through Retell's retries of a refused duplicate, the last one refused too", async () => {
      const app = await failingDuplicates(alreadyTaken);
      const { code, stdout, stderr } = await run([
        ...['--target', app.url, '--providers', 'retell', '--duplicates', '1', '--calls', '1'],
        ...['--speed', 'max', '--seed', '17', '--quiet'],
      ]);
      expect(stderr).toEqual([
        expect.stringMatching(
          /^✖ 409 \(Already processed\.\) from \/webhooks\/retell to a duplicate of the retell \S+ webhook, which the app took: nothing is lost; Retell sends it again\.$/,
        ),
      ]);
      expect(code).toBe(cliExitCodes.ok);
      const summary = stdout.join('\n');
      expect(summary).toMatch(/1 started, 1 completed/);
      // Each duplicate and its 3 retries refused: four failed deliveries per webhook, none lost.
      const [, sent, failed, retries] =
        /(\d+) sent, (\d+) failed, (\d+) retries, 0 lost \(0 rejected\)/.exec(summary) ?? [];
      const webhooks = Number(sent) / 5;
      expect(webhooks).toBeGreaterThanOrEqual(2);
      expect([Number(failed), Number(retries)]).toEqual([4 * webhooks, 3 * webhooks]);
    });

    it('neither stops nor counts a lost webhook when duplicates get no answer in time', async () => {
      const app = await failingDuplicates('stall');
      const { code, stdout, stderr } = await run([
        ...['--target', app.url, '--providers', 'twilio', '--duplicates', '1', '--calls', '1'],
        ...['--speed', 'max', '--seed', '18', '--timeout', '100', '--quiet'],
      ]);
      expect(stderr).toEqual([
        expect.stringMatching(
          /^✖ no answer within 100 ms from \/webhooks\/twilio to a duplicate of the twilio status:\S+ webhook, which the app took: nothing is lost; Twilio sends it again\.$/,
        ),
      ]);
      expect(code).toBe(cliExitCodes.ok);
      expect(stdout.join('\n')).toMatch(/\d+ retries, 0 lost \(0 rejected\)/);
    });
  });

  it('explains a wrong path (404)', async () => {
    const app = await startWebhookApp({ prefix: '/api/webhooks' });
    const { code, stderr } = await run([
      '--target',
      app.url,
      '--providers',
      'retell',
      '--calls',
      '2',
      '--speed',
      'max',
    ]);
    expect(code).toBe(cliExitCodes.failed);
    expect(stderr[0]).toMatch(
      /^✖ 404 from \/webhooks\/retell: nothing answers at this path\. Check --path-prefix/,
    );
  });

  it('explains a rate limit (429) as one, not as a wrong secret or path', async () => {
    const limited = await serveForTest(
      createServer((request, response) => {
        request.resume();
        response.writeHead(429, { 'retry-after': '1', 'content-type': 'application/json' });
        response.end('{"error":{"code":"rate_limited","message":"Too many requests."}}');
      }),
    );
    const { code, stderr } = await run([
      '--target',
      limited.url,
      '--providers',
      'twilio',
      '--calls',
      '1',
      '--speed',
      'max',
    ]);
    expect(code).toBe(cliExitCodes.failed);
    // It said "the app refused the twilio … webhook", and the CLI called every 4xx a
    // misconfiguration: an operator load-testing a rate-limited app was sent looking for one.
    expect(stderr[0]).toMatch(
      /^✖ 429 from \/webhooks\/twilio: the app's rate limit refused it.*--rate/,
    );
  });

  it('explains a wrong CallerDesk token and a wrong Retell key', async () => {
    const app = await startWebhookApp();
    const callerDesk = await run([
      '--target',
      app.url,
      '--providers',
      'callerdesk',
      '--calls',
      '1',
      '--speed',
      'max',
      '--callerdesk-token',
      'another-token-0123456789',
    ]);
    expect(callerDesk.code).toBe(cliExitCodes.failed);
    expect(callerDesk.stderr[0]).toMatch(
      /^✖ 403 from \/webhooks\/callerdesk: the webhook token does not match.*CALLERDESK_TOKEN/,
    );
    const retell = await run(
      ['--target', app.url, '--providers', 'retell', '--calls', '1', '--speed', 'max'],
      { RETELL_API_KEY: 'wrong' },
    );
    expect(retell.stderr[0]).toMatch(/^✖ 403 from \/webhooks\/retell: the API key does not match/);
  });

  it('keeps going after rejections with --keep-going, and still exits 1', async () => {
    const app = await startWebhookApp();
    const { code, stdout, stderr } = await run([
      '--target',
      app.url,
      '--providers',
      'twilio',
      '--calls',
      '3',
      '--rate',
      '100',
      '--speed',
      'max',
      '--twilio-auth-token',
      'wrong',
      '--keep-going',
      '--quiet',
    ]);
    expect(code).toBe(cliExitCodes.failed);
    expect(stderr).toHaveLength(1); // explained once
    expect(stdout.join('\n')).toMatch(/3 started, 3 completed/);
  });

  describe('stops only at a rejection that is final for its provider', () => {
    const unknownTenant = {
      status: 422,
      body: { error: { code: 'unknown_tenant', message: 'No tenant for this number.' } },
    };

    it("runs on when Retell's retry of a refused webhook is taken, and exits 0", async () => {
      // The app refuses the first delivery of every webhook, then takes its retry.
      const { app } = await startRefusingApp(1, unknownTenant);
      const { code, stdout, stderr } = await run([
        '--target',
        app.url,
        '--providers',
        'retell',
        '--calls',
        '2',
        '--rate',
        '100',
        '--speed',
        'max',
        '--seed',
        '8',
      ]);
      expect(stderr).toEqual([
        expect.stringMatching(/^✖ 422 from \/webhooks\/retell: .*Retell sends it again/),
      ]);
      expect(code).toBe(cliExitCodes.ok);
      expect(stdout.join('\n')).toMatch(/2 started, 2 completed/);
      // The refused first attempts failed, but no webhook was rejected in the end.
      expect(stdout.join('\n')).toMatch(
        /webhooks +\d+ sent, [1-9]\d* failed, [1-9]\d* retries, 0 lost \(0 rejected\)/,
      );
      expect(app.bus.events.filter((event) => event.type === 'call.ended')).toHaveLength(2);
    });

    it('runs on when the app refused a Twilio webhook but took its duplicate, and exits 0', async () => {
      // The app refuses the first delivery of every webhook (Twilio does not retry a 4xx), then
      // takes its duplicate: every webhook was taken in the end.
      const { app } = await startRefusingApp(1, unknownTenant);
      const { code, log } = await runCliLogged([
        ...['--target', app.url, '--providers', 'twilio', '--duplicates', '1', '--calls', '2'],
        ...['--rate', '100', '--speed', 'max', '--seed', '22', '--json'],
      ]);
      expect(log.filter((line) => line.startsWith('stderr: '))).toEqual([
        expect.stringMatching(/^stderr: ✖ 422 from \/webhooks\/twilio: /),
      ]);
      expect(code).toBe(cliExitCodes.ok);
      const deliveries = log
        .filter((line) => line.startsWith('{'))
        .map(
          (line) =>
            JSON.parse(line) as {
              callId: string;
              index: number;
              status: number;
              duplicate: boolean;
              lost: boolean;
            },
        );
      // Each webhook: its refused first delivery (not lost: its duplicate was still to come),
      // then the duplicate, taken.
      const webhooks = new Set(
        deliveries.map((delivery) => `${delivery.callId} ${delivery.index}`),
      );
      expect(deliveries).toHaveLength(2 * webhooks.size);
      for (const webhook of webhooks) {
        const attempts = deliveries.filter(
          (delivery) => `${delivery.callId} ${delivery.index}` === webhook,
        );
        expect(
          attempts.map((delivery) => [delivery.status, delivery.duplicate, delivery.lost]),
        ).toEqual([
          [422, false, false],
          [200, true, false],
        ]);
      }
      const summary = log.join('\n');
      expect(summary).toMatch(/2 started, 2 completed/);
      // The refused deliveries show in the summary; no webhook was rejected or lost.
      expect(summary).toMatch(
        new RegExp(
          `${2 * webhooks.size} sent, ${webhooks.size} failed, 0 retries, 0 lost \\(0 rejected\\)`,
        ),
      );
      expect(app.bus.events.filter((event) => event.type === 'call.ended')).toHaveLength(2);
    });

    it('stops when the refused duplicate of a refused Twilio webhook leaves it lost, and exits 1', async () => {
      const app = await startWebhookApp({ intercept: () => unknownTenant });
      const { code, log } = await runCliLogged([
        ...['--target', app.url, '--providers', 'twilio', '--duplicates', '1', '--calls', '1'],
        ...['--speed', 'max', '--seed', '23', '--json'],
      ]);
      expect(code).toBe(cliExitCodes.failed);
      const stopping = log.findIndex((line) => line.startsWith('stderr: Stopping:'));
      expect(log[stopping]).toBe(
        'stderr: Stopping: the app rejects the simulated webhooks (use --keep-going to continue).',
      );
      // The stop came at the duplicate: the original alone left the webhook a delivery to come.
      const before = log
        .slice(0, stopping)
        .filter((line) => line.startsWith('{'))
        .map((line) => JSON.parse(line) as { index: number; duplicate: boolean; lost: boolean });
      expect(before.at(-1)).toMatchObject({ duplicate: true, lost: true });
      expect(before.filter((delivery) => delivery.lost)).toHaveLength(1);
      // Lost, every one rejected: those whose duplicate the stop dropped count too.
      expect(log.join('\n')).toMatch(/([1-9]\d*) lost \(\1 rejected\)/);
    });

    it('stops when the last retry of a Retell webhook is refused too, and exits 1', async () => {
      const app = await startWebhookApp({ intercept: () => unknownTenant });
      const { code, log } = await runCliLogged([
        ...['--target', app.url, '--providers', 'retell', '--calls', '1', '--speed', 'max'],
        ...['--seed', '9', '--json'],
      ]);
      expect(code).toBe(cliExitCodes.failed);
      const stopping = log.findIndex((line) => line.startsWith('stderr: Stopping:'));
      expect(log[stopping]).toBe(
        'stderr: Stopping: the app rejects the simulated webhooks (its 3 retries included) (use --keep-going to continue).',
      );
      // Before the stop: the first webhook's attempt and its three retries, all refused.
      const before = log
        .slice(0, stopping)
        .filter((line) => line.startsWith('{'))
        .map((line) => JSON.parse(line) as { retry: number; status: number; willRetry: boolean });
      expect(
        before.map((delivery) => [delivery.retry, delivery.status, delivery.willRetry]),
      ).toEqual([
        [0, 422, true],
        [1, 422, true],
        [2, 422, true],
        [3, 422, false],
      ]);
      // It stopped there: the call (two webhooks at least) was aborted.
      expect(app.received).toHaveLength(4);
      expect(log.join('\n')).toMatch(/1 started, 0 completed, 1 aborted/);
      // Four refused attempts, one rejected webhook.
      expect(log.join('\n')).toMatch(/4 sent, 4 failed, 3 retries, 1 lost \(1 rejected\)/);
    });

    it('with --keep-going, never stops: every refused webhook gets all its retries', async () => {
      const app = await startWebhookApp({ intercept: () => unknownTenant });
      const { code, stdout } = await run([
        '--target',
        app.url,
        '--providers',
        'retell',
        '--calls',
        '2',
        '--rate',
        '100',
        '--speed',
        'max',
        '--keep-going',
        '--quiet',
      ]);
      expect(code).toBe(cliExitCodes.failed);
      const summary = stdout.join('\n');
      expect(summary).toMatch(/2 started, 2 completed/);
      const [, lost] = /(\d+) lost/.exec(summary) ?? [];
      expect(Number(lost)).toBeGreaterThan(2);
      expect(app.received).toHaveLength(4 * Number(lost));
    });
  });

  describe("stops at a webhook lost after its provider's last retry (a 5xx, a timeout, a failed connection)", () => {
    const busUnavailable = {
      status: 503,
      body: { error: { code: 'bus_unavailable', message: 'Bus down.' } },
    };
    /** The JSON delivery lines before the stop message, and the stop message. */
    function splitAtStop(log: string[]) {
      const stopping = log.findIndex((line) => line.startsWith('stderr: Stopping:'));
      const before = log
        .slice(0, stopping)
        .filter((line) => line.startsWith('{'))
        .map(
          (line) =>
            JSON.parse(line) as { kind: string; retry: number; status: number; lost: boolean },
        );
      return { stop: log[stopping], before };
    }

    it('stops when Retell gave a webhook up after its third retry of a 503, and exits 1', async () => {
      const app = await startWebhookApp({ intercept: () => busUnavailable });
      const { code, log } = await runCliLogged([
        ...['--target', app.url, '--providers', 'retell', '--calls', '1', '--speed', 'max'],
        ...['--seed', '9', '--json'],
      ]);
      expect(code).toBe(cliExitCodes.failed);
      const { stop, before } = splitAtStop(log);
      expect(before.map((delivery) => [delivery.retry, delivery.status, delivery.lost])).toEqual([
        [0, 503, false],
        [1, 503, false],
        [2, 503, false],
        [3, 503, true],
      ]);
      expect(stop).toBe(
        `stderr: Stopping: a Retell ${before[0]!.kind} webhook was lost: 503 (Bus down.); Retell's retries are exhausted (3 made) (use --keep-going to continue).`,
      );
      // It stopped there: the call's later webhooks were never sent.
      expect(app.received).toHaveLength(4);
      const summary = log.join('\n');
      expect(summary).toMatch(/1 started, 0 completed, 1 aborted/);
      expect(summary).toMatch(/4 sent, 4 failed, 3 retries, 1 lost \(0 rejected\)/);
    });

    it('stops at a 503 Twilio does not retry (rp=ct,rt); --twilio-retry-policy ct,rt,5xx rides it out', async () => {
      // The app answers 503 to the first delivery of every webhook.
      const seen = new Set<string>();
      const app = await startWebhookApp({
        intercept: (request) => {
          const key = `${request.url} ${request.body}`;
          if (seen.has(key)) return undefined;
          seen.add(key);
          return busUnavailable;
        },
      });
      const argv = ['--target', app.url, '--providers', 'twilio', '--calls', '1', '--speed', 'max'];
      const stopped = await run([...argv, '--seed', '10', '--quiet']);
      expect(stopped.code).toBe(cliExitCodes.failed);
      expect(stopped.stderr).toEqual([
        expect.stringMatching(/^✖ 503 from \/webhooks\/twilio: .*Bus down/),
        expect.stringMatching(
          /^Stopping: a Twilio status:\S+ webhook was lost: 503 \(Bus down\.\); Twilio does not retry it \(use --keep-going to continue\)\.$/,
        ),
      ]);
      expect(app.received).toHaveLength(1);

      const retried = await run([
        ...argv,
        ...['--seed', '11', '--quiet', '--twilio-retry-policy', 'ct,rt,5xx'],
      ]);
      expect(retried.code).toBe(cliExitCodes.ok);
      const [, sent, retries] =
        /webhooks +(\d+) sent, \d+ failed, (\d+) retries, 0 lost \(0 rejected\)/.exec(
          retried.stdout.join('\n'),
        ) ?? [];
      expect(Number(retries)).toBeGreaterThan(0);
      expect(Number(sent)).toBe(2 * Number(retries));
      expect(app.bus.events.filter((event) => event.type === 'call.ended')).toHaveLength(1);
    });

    it('stops at a webhook whose last attempt got no answer in time', async () => {
      const stalling = await serveForTest(
        createServer((request) => {
          request.resume(); // never answers
        }),
      );
      const { code, stderr } = await run([
        ...['--target', stalling.url, '--providers', 'twilio', '--calls', '1', '--speed', 'max'],
        ...['--timeout', '100'],
      ]);
      expect(code).toBe(cliExitCodes.failed);
      // Twilio retries a timeout once (rp=ct,rt) while its 15 s total timeout lasts.
      expect(stderr.at(-1)).toMatch(
        /^Stopping: a Twilio status:\S+ webhook was lost: no answer within 100 ms; Twilio's retries are exhausted \(1 made\) \(use --keep-going to continue\)\.$/,
      );
    });

    it('with --keep-going, runs every call to its end and still exits 1', async () => {
      const app = await startWebhookApp({ intercept: () => busUnavailable });
      const { code, stdout, stderr } = await run([
        ...['--target', app.url, '--providers', 'retell', '--calls', '2', '--rate', '100'],
        ...['--speed', 'max', '--keep-going', '--quiet'],
      ]);
      expect(code).toBe(cliExitCodes.failed);
      expect(stderr).toEqual([expect.stringMatching(/^✖ 503 from \/webhooks\/retell/)]);
      const summary = stdout.join('\n');
      expect(summary).toMatch(/2 started, 2 completed/);
      const [, lost] = /(\d+) lost \(0 rejected\)/.exec(summary) ?? [];
      expect(Number(lost)).toBeGreaterThan(2);
      expect(app.received).toHaveLength(4 * Number(lost));
    });
  });

  describe("Twilio's connection overrides from flags", () => {
    it('--twilio-total-timeout (tt) bounds the attempts of a delivery, counted on the real time', async () => {
      // The app answers 503 to the first attempt of each webhook after 3 s of the CLI's wall
      // clock (moved on, not waited), and takes the retry.
      let offsetMs = 0;
      const wallClock = { now: () => Date.now() + offsetMs };
      const seen = new Set<string>();
      const app = await startWebhookApp({
        intercept: (request) => {
          const key = `${request.url} ${request.body}`;
          if (seen.has(key)) return undefined;
          seen.add(key);
          offsetMs += 3_000;
          return {
            status: 503,
            body: { error: { code: 'bus_unavailable', message: 'Bus down.' } },
          };
        },
      });
      const argv = [
        ...['--target', app.url, '--providers', 'twilio', '--calls', '1', '--speed', 'max'],
        ...['--twilio-retry-policy', '5xx', '--quiet'],
      ];
      const spent = await run(
        [...argv, '--seed', '12', '--twilio-total-timeout', '3000'],
        {},
        {
          wallClock,
        },
      );
      expect(spent.code).toBe(cliExitCodes.failed);
      expect(spent.stderr.at(-1)).toMatch(/webhook was lost: 503 .*Twilio does not retry it/);
      expect(app.received).toHaveLength(1);

      const roomy = await run(
        [...argv, '--seed', '13', '--twilio-total-timeout', '5000'],
        {},
        {
          wallClock,
        },
      );
      expect(roomy.code).toBe(cliExitCodes.ok);
      expect(roomy.stdout.join('\n')).toMatch(/[1-9]\d* retries, 0 lost/);
    });

    it("keeps --retries' Twilio count next to --twilio-retry-policy", async () => {
      // The app answers 503 to the first two attempts of every webhook.
      const { app, attempts } = await startRefusingApp(2);
      const argv = ['--target', app.url, '--providers', 'twilio', '--calls', '1', '--speed', 'max'];
      const once = await run([...argv, '--seed', '14', '--twilio-retry-policy', '5xx']);
      expect(once.code).toBe(cliExitCodes.failed);
      expect(once.stderr.at(-1)).toMatch(/Twilio's retries are exhausted \(1 made\)/);

      const twice = await run([
        ...argv,
        ...['--seed', '15', '--twilio-retry-policy', '5xx', '--retries', '2', '--quiet'],
      ]);
      expect(twice.code).toBe(cliExitCodes.ok);
      expect([...attempts.values()].filter((count) => count === 3).length).toBeGreaterThan(0);
      expect(twice.stdout.join('\n')).toMatch(/0 lost \(0 rejected\)/);
    });
  });

  it('explains an app that is not running', async () => {
    // A loopback port that was just free: the connection is refused (port 9, fetch's "bad
    // port", never tried to connect at all).
    const closed = await serveForTest(createServer());
    const target = closed.url;
    await closed.close();
    const { code, stdout, stderr } = await run([
      ...['--target', target, '--providers', 'twilio', '--calls', '1', '--speed', 'max'],
      ...['--seed', '19'],
    ]);
    expect(code).toBe(cliExitCodes.failed);
    const where = `${target}/webhooks/twilio`.replace(/[.]/g, '\\.');
    expect(stderr[0]).toMatch(
      new RegExp(
        `^✖ no answer from ${where}: ECONNREFUSED: connect ECONNREFUSED 127\\.0\\.0\\.1:\\d+ \\(Twilio sends it again\\)\\. Is the app running, and is --target right\\?$`,
      ),
    );
    // Twilio retried the failed connection once (rc=1, rp=ct,rt), then gave the webhook up.
    expect(stderr[1]).toMatch(
      /^Stopping: a Twilio status:\S+ webhook was lost: no answer \(ECONNREFUSED: connect ECONNREFUSED 127\.0\.0\.1:\d+\); Twilio's retries are exhausted \(1 made\) \(use --keep-going to continue\)\.$/,
    );
    expect(stderr).toHaveLength(2);
    expect(stdout.join('\n')).toMatch(/HTTP +0 ×\d+/);
  });

  it('prints JSON lines with --json', async () => {
    const app = await startWebhookApp();
    const { code, stdout } = await run([
      '--target',
      app.url,
      '--providers',
      'callerdesk',
      '--calls',
      '1',
      '--speed',
      'max',
      '--json',
      '--duplicates',
      '1',
    ]);
    expect(code).toBe(cliExitCodes.ok);
    const deliveries = stdout
      .filter((line) => line.startsWith('{'))
      .map((line) => JSON.parse(line));
    expect(deliveries.length).toBe(app.received.length);
    expect(deliveries.filter((delivery) => delivery.duplicate)).toHaveLength(deliveries.length / 2);
    for (const delivery of deliveries) {
      expect(delivery).toMatchObject({ provider: 'callerdesk', status: 200, ok: true });
      expect(delivery.from).toMatch(/^\+\d\d\*+\d{3}$/);
      expect(delivery.url).toContain('token=***');
    }
  });

  it('exits 130 when interrupted before --calls calls completed', async () => {
    const app = await startWebhookApp();
    const controller = new AbortController();
    const running = run(
      ['--target', app.url, '--calls', '5', '--speed', '1', '--quiet'],
      {},
      { signal: controller.signal },
    );
    controller.abort();
    const { code, stdout } = await running;
    expect(code).toBe(cliExitCodes.interrupted);
    expect(stdout[0]).toBe('calltrack-sim summary');
  });

  it('serves the provider API with --provider-api until interrupted, placing no calls of its own with --calls 0', async () => {
    const app = await startWebhookApp();
    const controller = new AbortController();
    const stdout: string[] = [];
    let announced: (url: string) => void = () => {};
    const listening = new Promise<string>((resolve) => {
      announced = resolve;
    });
    const running = runCli(
      ['--target', app.url, '--provider-api', '0', '--calls', '0', '--speed', 'max', '--quiet'],
      {
        stdout: (line) => {
          stdout.push(line);
          const url = /provider API → (http:\/\/\S+)/.exec(line)?.[1];
          if (url !== undefined) announced(url);
        },
        stderr: () => {},
        env: { TWILIO_ACCOUNT_SID: 'AC99990000000000000000000000000001' },
        signal: controller.signal,
      },
    );
    const baseUrl = await listening;
    const twilio = createTwilioClient({
      accountSid: 'AC99990000000000000000000000000001',
      authToken: demoCredentials.twilioAuthToken,
      baseUrl,
    });
    const call = await twilio.placeCall({
      to: '+14155550123',
      from: '+14155550100',
      url: 'https://app.example.com/twiml',
      statusCallback: `${app.url}/webhooks/twilio`,
      statusCallbackEvent: ['initiated', 'completed'],
    });
    await app.waitForEvent((event) => event.callId === call.sid && event.type === 'call.ended');
    controller.abort();
    expect(await running).toBe(cliExitCodes.ok);
    expect(stdout.join('\n')).toMatch(/calls\s+1 started/);
  });

  it('refuses --calls 0 without --provider-api, and a bad port', async () => {
    expect((await run(['--target', 'http://x', '--calls', '0'])).code).toBe(cliExitCodes.usage);
    const { code, stderr } = await run(['--target', 'http://x', '--provider-api', 'http']);
    expect(code).toBe(cliExitCodes.usage);
    expect(stderr.join('\n')).toMatch(/--provider-api must be a port number/);
  });
});
