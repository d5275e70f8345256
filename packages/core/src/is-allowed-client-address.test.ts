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

  it('matches an entry written in any IPv6 form as its canonical one, both ways', async () => {
    const pairs: [entry: string, client: string][] = [
      ['0:0:0:0:0:0:0:1', '::1'],
      ['0000:0000:0000:0000:0000:0000:0000:0001', '::1'],
      ['::1', '0:0::1'],
      ['2001:DB8::1', '2001:db8:0:0:0:0:0:1'],
      ['2001:0db8:0000::0001', '2001:db8::1'],
      [' 2001:db8::1 ', '2001:db8::1'],
      // IPv4-mapped: dotted or hexadecimal, on either side.
      ['::FFFF:127.0.0.1', '127.0.0.1'],
      ['::ffff:7f00:1', '127.0.0.1'],
      ['0:0:0:0:0:FFFF:7F00:0001', '::ffff:127.0.0.1'],
      ['127.0.0.1', '::ffff:7f00:1'],
      ['fe80::1%eth0', 'FE80:0:0::1%eth0'],
    ];
    for (const [entry, client] of pairs) {
      expect([entry, client, await isAllowedClientAddress([entry], client, request)]).toEqual([
        entry,
        client,
        true,
      ]);
    }
    const apart: [entry: string, client: string][] = [
      ['::1', '::2'],
      ['::ffff:7f00:1', '127.0.0.2'],
      // Another zone is another link.
      ['fe80::1%eth0', 'fe80::1%eth1'],
      // Not addresses: never equal to one.
      ['not an address', 'not an address'],
    ];
    for (const [entry, client] of apart) {
      expect([entry, client, await isAllowedClientAddress([entry], client, request)]).toEqual([
        entry,
        client,
        false,
      ]);
    }
  });

  it('asks a function, accepting only true', async () => {
    expect(await isAllowedClientAddress(async () => true, undefined, request)).toBe(true);
    expect(await isAllowedClientAddress(() => 'yes' as never, '1.2.3.4', request)).toBe(false);
  });
});
