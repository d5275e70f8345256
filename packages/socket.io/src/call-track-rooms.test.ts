import { describe, expect, it } from 'vitest';
import {
  allTenantsCallRoom,
  allTenantsCallsRoom,
  callRoom,
  callsRoom,
  tenantRoom,
  userRoom,
} from './call-track-rooms';

describe('room names', () => {
  it('are what the protocol documents', () => {
    expect(tenantRoom('acme')).toBe('tenant:acme');
    expect(userRoom('acme', 'u1')).toBe('user:{acme}:u1');
    expect(callRoom('acme', 'CA1')).toBe('call:{acme}:CA1');
    expect(callsRoom('acme')).toBe('calls:{acme}');
    expect(callsRoom('acme', 'call.ended')).toBe('calls:{acme}:call.ended');
    expect(allTenantsCallsRoom()).toBe('calls:*');
    expect(allTenantsCallsRoom('call.ended')).toBe('calls:*:call.ended');
    expect(allTenantsCallRoom('acme', 'CA1')).toBe('call:*:{acme}:CA1');
  });

  it('never let one tenant produce another tenant’s room, even with ":" in the ids', () => {
    // Tenant ids cannot contain braces, so the tenant part always ends at the first "}".
    expect(userRoom('a', 'b:c')).not.toBe(userRoom('a:b', 'c'));
    expect(callRoom('a', 'x:y')).not.toBe(callRoom('a:x', 'y'));
    expect(callRoom('a', '}{b}:y')).not.toBe(callRoom('b', 'y'));
    expect(callsRoom('a:call.ended')).not.toBe(callsRoom('a', 'call.ended'));
  });

  it('never let a tenant (even one named "*") produce a room of the all-tenants view', () => {
    for (const tenantId of ['*', '*:call.ended', '*:{a', 'x']) {
      expect(callsRoom(tenantId)).not.toBe(allTenantsCallsRoom());
      expect(callsRoom(tenantId, 'call.ended')).not.toBe(allTenantsCallsRoom('call.ended'));
      expect(callRoom(tenantId, 'CA1')).not.toBe(allTenantsCallRoom('x', 'CA1'));
      expect(callsRoom(tenantId).startsWith('calls:{')).toBe(true);
      expect(callRoom(tenantId, 'CA1').startsWith('call:{')).toBe(true);
    }
  });
});
