import { describe, expect, it } from 'vitest';
import type { CallEvent } from './call-event-schema';
import { isEventForPrincipal, isUserAddressedEvent } from './user-addressed-event';

const base: CallEvent = {
  id: 'message:u1:m1',
  type: 'user.message',
  tenantId: 'acme',
  provider: 'calltrack',
  occurredAt: '2026-01-01T00:00:00.000Z',
  receivedAt: '2026-01-01T00:00:00.000Z',
  data: {},
};
const forU1: CallEvent = { ...base, userId: 'u1', data: { audience: 'user' } };

describe('isUserAddressedEvent', () => {
  it('needs both the audience mark and a userId', () => {
    expect(isUserAddressedEvent(forU1)).toBe(true);
    expect(isUserAddressedEvent({ ...base, data: { audience: 'user' } })).toBe(false);
    expect(isUserAddressedEvent({ ...base, userId: 'u1' })).toBe(false);
    expect(isUserAddressedEvent({ ...base, userId: 'u1', data: { audience: 'tenant' } })).toBe(
      false,
    );
  });
});

describe('isEventForPrincipal', () => {
  it('lets every event that is not user-addressed through, whoever asks', () => {
    const presence: CallEvent = { ...base, type: 'presence.online', userId: 'u1', data: {} };
    expect(isEventForPrincipal(presence, { tenantId: 'acme' })).toBe(true);
    expect(isEventForPrincipal(presence, { tenantId: 'acme', userId: 'u2' })).toBe(true);
  });

  it('gives a user-addressed event to that user of that tenant only', () => {
    expect(isEventForPrincipal(forU1, { tenantId: 'acme', userId: 'u1' })).toBe(true);
    expect(isEventForPrincipal(forU1, { tenantId: 'acme', userId: 'u2' })).toBe(false);
    expect(isEventForPrincipal(forU1, { tenantId: 'acme' })).toBe(false);
    expect(isEventForPrincipal(forU1, { tenantId: 'other', userId: 'u1' })).toBe(false);
  });

  it('gives an all-tenants principal its own user messages, never another user’s', () => {
    expect(isEventForPrincipal(forU1, { tenantId: 'acme', userId: 'u1', allTenants: true })).toBe(
      true,
    );
    expect(isEventForPrincipal(forU1, { tenantId: 'ops', userId: 'u1', allTenants: true })).toBe(
      false,
    );
    expect(
      isEventForPrincipal(forU1, { tenantId: 'acme', userId: 'admin', allTenants: true }),
    ).toBe(false);
  });
});
