import { InvalidArgumentError } from '@calltrack/core';
import { describe, expect, it } from 'vitest';
import { demoCredentials } from './demo-credentials';
import { demoLines } from './demo-lines';
import { resolveSimulatorOptions } from './resolve-simulator-options';
import { defaultOutcomeWeights } from './simulated-outcome';
import type { SimulatorOptions } from './simulator-options';

describe('resolveSimulatorOptions', () => {
  it('applies the defaults', () => {
    const resolved = resolveSimulatorOptions({ target: 'http://localhost:3000/' });
    expect(resolved).toMatchObject({
      target: 'http://localhost:3000',
      urls: {
        twilio: 'http://localhost:3000/webhooks/twilio',
        retell: 'http://localhost:3000/webhooks/retell',
        callerdesk: 'http://localhost:3000/webhooks/callerdesk',
      },
      providers: ['twilio', 'retell', 'callerdesk'],
      lines: demoLines,
      credentials: demoCredentials,
      rate: 0.5,
      speed: 1,
      maxActiveCalls: Number.POSITIVE_INFINITY,
      maxCalls: Number.POSITIVE_INFINITY,
      outcomes: defaultOutcomeWeights,
      duplicateRate: 0,
      reorderRate: 0,
      callerDeskMethod: 'POST',
      timeoutMs: { twilio: 15_000, retell: 10_000, callerdesk: 15_000 },
      retries: {
        twilio: { count: 1, on: ['connection', 'timeout'], totalTimeoutMs: 15_000 },
        retell: { count: 3, on: ['connection', 'timeout', '4xx', '5xx'] },
        callerdesk: { count: 0, on: ['connection', 'timeout', '5xx'] },
      },
      fetch: globalThis.fetch,
    });
    expect(resolved.seed).toBe(resolved.seed >>> 0);
  });

  it('applies a timeout to every provider, and retry counts and failures per provider', () => {
    const resolved = resolveSimulatorOptions({
      target: 'http://x',
      timeoutMs: 500,
      retries: {
        twilio: { on: ['5xx', '5xx'] },
        retell: { totalTimeoutMs: 60_000 },
        callerdesk: 2,
      },
    });
    expect(resolved.timeoutMs).toEqual({ twilio: 500, retell: 500, callerdesk: 500 });
    expect(resolved.retries).toEqual({
      twilio: { count: 1, on: ['5xx'], totalTimeoutMs: 15_000 },
      retell: { count: 3, on: ['connection', 'timeout', '4xx', '5xx'], totalTimeoutMs: 60_000 },
      callerdesk: { count: 2, on: ['connection', 'timeout', '5xx'] },
    });
    const none = resolveSimulatorOptions({ target: 'http://x', retries: 0 }).retries;
    expect(Object.values(none).map((policy) => policy.count)).toEqual([0, 0, 0]);
    // Twilio's rc allows at most 5; the other providers take any count.
    const most = resolveSimulatorOptions({
      target: 'http://x',
      retries: { twilio: { count: 5 }, retell: 9 },
    }).retries;
    expect([most.twilio.count, most.retell.count]).toEqual([5, 9]);
  });

  it("takes one count above Twilio's limit for a run without Twilio", () => {
    const resolved = resolveSimulatorOptions({
      target: 'http://x',
      providers: ['retell', 'callerdesk'],
      retries: 6,
    });
    expect([resolved.retries.retell.count, resolved.retries.callerdesk.count]).toEqual([6, 6]);
    // The run's lines decide its providers when none are given.
    const retellOnly = resolveSimulatorOptions({
      target: 'http://x',
      lines: demoLines.filter((line) => line.provider === 'retell'),
      retries: 8,
    });
    expect(retellOnly.retries.retell.count).toBe(8);
  });

  it('builds the webhook URLs from a prefix and per-provider paths, keeping their query', () => {
    const { urls } = resolveSimulatorOptions({
      target: 'https://app.example/base/',
      pathPrefix: 'api/webhooks/',
      paths: { twilio: '/webhooks/twilio?tenant=acme', callerdesk: '?kind=report' },
    });
    expect(urls).toEqual({
      twilio: 'https://app.example/base/webhooks/twilio?tenant=acme',
      retell: 'https://app.example/base/api/webhooks/retell',
      callerdesk: 'https://app.example/base?kind=report',
    });
  });

  it('uses the providers that have a line, and fills missing credentials with the demo ones', () => {
    const resolved = resolveSimulatorOptions({
      target: 'http://x',
      lines: demoLines.filter((line) => line.provider === 'retell'),
      credentials: { retellApiKey: 'key_live', twilioAuthToken: '' },
    });
    expect(resolved.providers).toEqual(['retell']);
    expect(resolved.credentials).toEqual({ ...demoCredentials, retellApiKey: 'key_live' });
  });

  it('keeps a seed as an unsigned 32-bit integer, and speed Infinity', () => {
    expect(resolveSimulatorOptions({ target: 'http://x', seed: -1 }).seed).toBe(2 ** 32 - 1);
    expect(
      resolveSimulatorOptions({ target: 'http://x', speed: Number.POSITIVE_INFINITY }).speed,
    ).toBe(Number.POSITIVE_INFINITY);
  });

  it.each<[SimulatorOptions, RegExp]>([
    [{ target: 'localhost:3000' }, /target/],
    [{ target: 'ftp://example.com' }, /http/],
    [{ target: 'http://x', rate: 0 }, /rate/],
    [{ target: 'http://x', speed: -1 }, /speed/],
    [{ target: 'http://x', duplicateRate: 2 }, /duplicateRate/],
    [{ target: 'http://x', reorderRate: -0.1 }, /reorderRate/],
    [{ target: 'http://x', outcomes: { completed: 0 } }, /outcome/],
    [{ target: 'http://x', outcomes: { hung: 1 } as never }, /unknown outcome/],
    [{ target: 'http://x', providers: [] }, /at least one/],
    [{ target: 'http://x', providers: ['vapi'] as never }, /unknown provider/],
    [{ target: 'http://x', lines: [], providers: ['twilio'] }, /no line/],
    [
      {
        target: 'http://x',
        lines: [{ provider: 'vapi', number: '+14155550100', tenantId: 't' }] as never,
      },
      /known provider/,
    ],
    [
      { target: 'http://x', lines: [{ provider: 'twilio', number: '4155550100', tenantId: 't' }] },
      /E\.164/,
    ],
    [
      { target: 'http://x', lines: [{ provider: 'twilio', number: '+14155550100', tenantId: '' }] },
      /tenantId/,
    ],
    [{ target: 'http://x', maxActiveCalls: 0 }, /maxActiveCalls/],
    [{ target: 'http://x', maxCalls: 1.5 }, /maxCalls/],
    [{ target: 'http://x', seed: 1.5 }, /seed/],
    [{ target: 'http://x', timeoutMs: 0 }, /timeoutMs/],
    [{ target: 'http://x', retries: -1 }, /retries/],
    [{ target: 'http://x', retries: 1.5 }, /retries/],
    [{ target: 'http://x', retries: { vapi: 1 } as never }, /unknown provider "vapi" in retries/],
    [{ target: 'http://x', retries: { retell: { count: -2 } } }, /retries\.retell/],
    [{ target: 'http://x', retries: { twilio: { on: ['3xx'] as never } } }, /retries\.twilio\.on/],
    [
      { target: 'http://x', retries: { twilio: { totalTimeoutMs: 0 } } },
      /retries\.twilio\.totalTimeoutMs/,
    ],
    // Twilio's connection override rc takes 0 to 5 retries.
    [{ target: 'http://x', retries: { twilio: 6 } }, /retries\.twilio must be 0 to 5 retries/],
    [
      { target: 'http://x', retries: { twilio: { count: 6 } } },
      /retries\.twilio must be 0 to 5 retries \(Twilio's rc\)/,
    ],
    [{ target: 'http://x', retries: 6 }, /retries gives Twilio 6 retries.*0 to 5.*per provider/],
    [
      { target: 'http://x', providers: ['retell', 'twilio'], retries: 6 },
      /retries gives Twilio 6 retries.*0 to 5.*per provider/,
    ],
    // A count given for Twilio is Twilio's, in a run with Twilio or not.
    [
      { target: 'http://x', providers: ['retell'], retries: { twilio: 6, retell: 6 } },
      /retries\.twilio must be 0 to 5 retries/,
    ],
  ])('refuses invalid options %#', (options, message) => {
    expect(() => resolveSimulatorOptions(options)).toThrow(InvalidArgumentError);
    expect(() => resolveSimulatorOptions(options)).toThrow(message);
  });
});
