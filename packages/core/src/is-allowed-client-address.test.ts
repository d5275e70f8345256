import { describe, expect, it } from 'vitest';
import { isAllowedClientAddress } from './is-allowed-client-address';

const request = new Request('http://localhost/webhook');

describe('isAllowedClientAddress', () => {
  it('allows everything when no allowlist is set', async () => {
    expect(await isAllowedClientAddress(undefined, undefined, request)).toBe(true);
  });

  it('matches exact addresses, IPv4-mapped IPv6 included', async () => {
    const list = ['100.20.5.228', '2001:DB8::1'];
    expect(await isAllowedClientAddress(list, '100.20.5.228', request)).toBe(true);
    expect(await isAllowedClientAddress(list, '::ffff:100.20.5.228', request)).toBe(true);
    expect(await isAllowedClientAddress(list, '2001:db8::1', request)).toBe(true);
    expect(await isAllowedClientAddress(list, '100.20.5.229', request)).toBe(false);
    expect(await isAllowedClientAddress(list, undefined, request)).toBe(false);
    expect(await isAllowedClientAddress([], '100.20.5.228', request)).toBe(false);
  });

  it('asks a function, accepting only true', async () => {
    expect(await isAllowedClientAddress(async () => true, undefined, request)).toBe(true);
    expect(await isAllowedClientAddress(() => 'yes' as never, '1.2.3.4', request)).toBe(false);
  });
});
