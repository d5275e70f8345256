import { describe, expect, it } from 'vitest';
import { createAddressGuard } from './create-address-guard';

describe('createAddressGuard', () => {
  const guard = createAddressGuard();

  it('lets public unicast addresses through', () => {
    for (const address of ['8.8.8.8', '2606:4700::1111', '::ffff:8.8.8.8']) {
      expect(guard(address)).toBeUndefined();
    }
  });

  it('refuses loopback, private, link-local, metadata and other special ranges', () => {
    const cases: Record<string, string> = {
      '127.0.0.1': 'loopback',
      '10.1.2.3': 'private',
      '172.16.0.1': 'private',
      '192.168.1.1': 'private',
      '169.254.169.254': 'linkLocal',
      '100.100.100.200': 'carrierGradeNat',
      '0.0.0.0': 'unspecified',
      '255.255.255.255': 'broadcast',
      '224.0.0.1': 'multicast',
      '192.0.2.1': 'reserved',
      '198.18.0.1': 'reserved',
      '::1': 'loopback',
      '[::1]': 'loopback',
      '::': 'unspecified',
      'fe80::1%eth0': 'linkLocal',
      'fd00:ec2::254': 'uniqueLocal',
      '::ffff:127.0.0.1': 'loopback',
      '::ffff:10.0.0.1': 'private',
      '::ffff:169.254.169.254': 'linkLocal',
      '64:ff9b::a00:1': 'rfc6052',
      '2002:a00:1::': '6to4',
      'not-an-ip': 'invalid',
    };
    for (const [address, range] of Object.entries(cases)) {
      expect([address, guard(address)]).toEqual([address, range]);
    }
  });

  it('refuses deprecated IPv4-compatible IPv6 (::/96) in every spelling, even when allowed as IPv4', () => {
    // ::7f00:1 is how a URL spells [::127.0.0.1]; ipaddr.js reads the dotted form as mapped.
    for (const address of ['::7f00:1', '::a9fe:a9fe', '::808:808', '::8.8.8.8', '[::7f00:1]']) {
      expect([address, guard(address)]).toEqual([address, 'ipv4Compatible']);
    }
    const allowingLoopback = createAddressGuard(['127.0.0.0/8']);
    expect(allowingLoopback('::7f00:1')).toBe('ipv4Compatible');
    expect(allowingLoopback('::127.0.0.1')).toBe('ipv4Compatible');
    // Only ::/96: the unspecified and loopback addresses keep their names, others are apart.
    expect(guard('::1')).toBe('loopback');
    expect(guard('::')).toBe('unspecified');
    expect(guard('::1:7f00:1')).toBeUndefined();
  });

  it('opens exactly the listed CIDR ranges, IPv4-mapped addresses included', () => {
    const allowing = createAddressGuard(['127.0.0.0/8', '10.1.0.0/16', '::1/128']);
    expect(allowing('127.0.0.1')).toBeUndefined();
    expect(allowing('::ffff:127.0.0.1')).toBeUndefined();
    expect(allowing('::1')).toBeUndefined();
    expect(allowing('10.1.200.3')).toBeUndefined();
    expect(allowing('10.2.0.1')).toBe('private');
    expect(allowing('169.254.169.254')).toBe('linkLocal');
    expect(createAddressGuard(['::ffff:10.0.0.0/104'])('10.9.9.9')).toBeUndefined();
  });

  it('refuses a malformed allowlist entry', () => {
    expect(() => createAddressGuard(['10.0.0.0/33'])).toThrow(/not a CIDR range/);
    expect(() => createAddressGuard(['example.com/8'])).toThrow(/not a CIDR range/);
  });
});
