import { describe, expect, it } from 'vitest';
import { createCallingWindow } from './calling-window';
import { checkLeadGates, type LeadGates } from './check-lead-gates';
import { createMemoryDoNotCallList } from './create-memory-do-not-call-list';
import type { Lead } from './lead';

const now = Date.parse('2026-03-02T15:00:00.000Z'); // 10:00 in New York
const lead = (extra: Partial<Lead> = {}): Lead => ({
  tenantId: 'acme',
  leadId: 'lead-1',
  userId: 'user-1',
  phoneNumber: '+14155550100',
  timeZone: 'America/New_York',
  callStatus: 'pending',
  hasBeenCalled: false,
  attemptCount: 0,
  lastAttemptAt: undefined,
  attemptId: undefined,
  fence: 0,
  provider: undefined,
  callId: undefined,
  callOutcome: undefined,
  skipReason: undefined,
  skippedAt: undefined,
  ...extra,
});
const gates = (extra: Partial<LeadGates> = {}): LeadGates => ({
  window: createCallingWindow(),
  maxAttempts: 3,
  minAttemptGapMs: 120_000,
  ...extra,
});

describe('checkLeadGates', () => {
  it('passes a dialable lead inside its window', async () => {
    expect(await checkLeadGates(lead(), now, gates())).toEqual({ pass: true });
  });

  it('skips malformed leads with a reason: number, missing zone, unknown zone', async () => {
    for (const phoneNumber of ['', '4155550100', '+0155550100', '+1 415 555 0100', '+1415']) {
      expect(await checkLeadGates(lead({ phoneNumber }), now, gates())).toEqual({
        pass: false,
        reason: 'invalid_phone',
      });
    }
    expect(await checkLeadGates(lead({ timeZone: undefined }), now, gates())).toEqual({
      pass: false,
      reason: 'missing_time_zone',
    });
    expect(
      await checkLeadGates(
        lead({ timeZone: undefined }),
        now,
        gates({ defaultTimeZone: 'America/Chicago' }),
      ),
    ).toEqual({ pass: true });
    // An empty zone (a PostgreSQL row with `tz = ''`) is no zone: the default applies.
    expect(
      await checkLeadGates(
        lead({ timeZone: '' }),
        now,
        gates({ defaultTimeZone: 'America/Chicago' }),
      ),
    ).toEqual({ pass: true });
    expect(await checkLeadGates(lead({ timeZone: '' }), now, gates())).toEqual({
      pass: false,
      reason: 'missing_time_zone',
    });
    expect(await checkLeadGates(lead({ timeZone: 'EST5EDT/Nowhere' }), now, gates())).toEqual({
      pass: false,
      reason: 'invalid_time_zone',
    });
  });

  it('checks do-not-call at dial time, and fails closed when the check fails', async () => {
    const list = createMemoryDoNotCallList();
    const withList = gates({ doNotCall: list });
    expect((await checkLeadGates(lead(), now, withList)).pass).toBe(true);
    await list.add('acme', ['+14155550100']); // added after the leads were loaded
    expect(await checkLeadGates(lead(), now, withList)).toEqual({
      pass: false,
      reason: 'do_not_call',
    });
    expect((await checkLeadGates(lead({ tenantId: 'other' }), now, withList)).pass).toBe(true);
    const failing = gates({
      isDoNotCall: async () => {
        throw new Error('registry down');
      },
    });
    expect(await checkLeadGates(lead(), now, failing)).toMatchObject({
      pass: false,
      reason: 'do_not_call_unavailable',
    });
  });

  it('holds the attempt cap and the gap, with the time the gap ends', async () => {
    expect(await checkLeadGates(lead({ attemptCount: 3 }), now, gates())).toEqual({
      pass: false,
      reason: 'attempt_cap',
    });
    expect(
      await checkLeadGates(lead({ attemptCount: 1, lastAttemptAt: now - 60_000 }), now, gates()),
    ).toEqual({ pass: false, reason: 'too_soon', retryAt: now + 60_000 });
    expect(
      (await checkLeadGates(lead({ attemptCount: 1, lastAttemptAt: now - 120_000 }), now, gates()))
        .pass,
    ).toBe(true);
  });

  it('puts do-not-call before the window, and the window before the attempt cap', async () => {
    const list = createMemoryDoNotCallList();
    await list.add('acme', ['+14155550100']);
    const night = Date.parse('2026-03-02T05:00:00.000Z');
    expect(
      await checkLeadGates(lead({ attemptCount: 9 }), night, gates({ doNotCall: list })),
    ).toMatchObject({ reason: 'do_not_call' });
    expect(await checkLeadGates(lead({ attemptCount: 9 }), night, gates())).toMatchObject({
      reason: 'outside_calling_window',
    });
  });
});
