// The example while its Redis is down: its own redis-server, killed with SIGKILL (the shared test
// Redis is never stopped). Every answer is prompt: a 503 with Retry-After, or TwiML.
import { demoLines } from '@calltrack/simulator';
import { connectTestRedis, type RedisServerProcess, startRedisServer } from '@calltrack/test-utils';
import { Redis, type RedisOptions } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { postTwilio, twilioStatus } from './__tests__/signed-webhooks';
import { startDemoApp, stopDemoApps } from './__tests__/start-demo-app';

const probe = await connectTestRedis();
probe?.disconnect();
const twilioNorth = demoLines.find(
  (line) => line.provider === 'twilio' && line.tenantId === 'demo',
)!.number;

/** Resolves on the client's next `event` (an `error` event does not reject it). */
const next = (client: Redis, event: string) =>
  new Promise<void>((resolve) => client.once(event, () => resolve()));

describe.skipIf(!probe)('the example while Redis is down (kill -9)', () => {
  let server: RedisServerProcess | undefined;
  const clients: Redis[] = [];
  beforeAll(async () => {
    server = await startRedisServer();
  });
  afterAll(async () => {
    await server?.stop();
  });
  let killed = false;
  afterEach(async () => {
    await stopDemoApps();
    for (const client of clients.splice(0)) client.disconnect();
    if (killed) await server?.restart();
    killed = false;
  });

  /** The example on the test's redis-server, with `options` (default: main.ts's). */
  const startOnRedis = async (options: RedisOptions) => {
    const redis = new Redis((server as RedisServerProcess).url, options);
    redis.on('error', () => {});
    clients.push(redis);
    await next(redis, 'ready');
    const warnings: string[] = [];
    const errors: unknown[][] = [];
    const demo = await startDemoApp({
      redis,
      redisPrefix: `outage${Date.now()}`,
      logger: {
        warn: (message: string) => warnings.push(message),
        error: (...args: unknown[]) => errors.push(args),
      },
    });
    const down = async () => {
      const closed = next(redis, 'close');
      await (server as RedisServerProcess).kill();
      killed = true;
      await closed;
    };
    return { demo, redis, down, warnings, errors };
  };

  const expectUnavailable = async (response: Response) => {
    expect(response.status).toBe(503);
    expect(response.headers.get('retry-after')).toBe('5');
    expect((await response.json()).error).toEqual({
      code: 'redis_unavailable',
      message: expect.stringMatching(/Redis cannot be reached/),
    });
  };

  it('answers the presence routes 503 with Retry-After, logged as one line', async () => {
    const { demo, down, warnings, errors } = await startOnRedis({
      maxRetriesPerRequest: 1,
      enableOfflineQueue: false,
      commandTimeout: 2_000,
    });
    expect((await fetch(`${demo.url}/api/presence/agents`)).status).toBe(200);
    await down();

    await expectUnavailable(await fetch(`${demo.url}/api/presence/agents`));
    await expectUnavailable(
      await fetch(`${demo.url}/api/presence/state`, {
        method: 'PUT',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ state: 'break' }),
      }),
    );
    expect(errors).toEqual([]);
    expect(warnings.filter((line) => line.startsWith('presence route:'))).toEqual([
      expect.stringMatching(/^presence route: .*Redis cannot be reached/),
      expect.stringMatching(/^presence route: .*Redis cannot be reached/),
    ]);
  });

  it('on ioredis defaults, answers a Twilio webhook 503 at once and a voice request with voicemail, without waiting for presence', async () => {
    // ioredis' defaults: a command waits in the offline queue for 20 reconnect attempts (10 s).
    const { demo, down, warnings, errors } = await startOnRedis({});
    await down();
    const callSid = `CA${'e'.repeat(32)}`;

    let started = performance.now();
    const status = await postTwilio(
      demo.url,
      twilioStatus({ callSid, status: 'ringing', sequence: 1, line: twilioNorth }),
    );
    expect(performance.now() - started).toBeLessThan(2_000);
    await expectUnavailable(status);

    started = performance.now();
    const voice = await postTwilio(
      demo.url,
      {
        AccountSid: `AC${'0'.repeat(32)}`,
        CallSid: callSid,
        CallStatus: 'ringing',
        Direction: 'inbound',
        From: '+12125550147',
        To: twilioNorth,
      },
      'valid',
      '/webhooks/twilio/voice',
    );
    expect(performance.now() - started).toBeLessThan(2_000);
    expect(voice.status).toBe(200);
    const twiml = await voice.text();
    expect(twiml).toContain('<Record');
    expect(twiml).not.toContain('<Dial');
    expect(errors).toEqual([]);
    expect(warnings.filter((line) => line.startsWith('voice routing:'))).toEqual([
      expect.stringMatching(/^voice routing: .*voicemail/),
    ]);
  });
});
