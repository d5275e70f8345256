import { BlockList, isIP } from 'node:net';
import { InvalidArgumentError } from '@calltrack/core';
import ipaddr from 'ipaddr.js';

// IPv4-compatible IPv6 (::a.b.c.d, deprecated by RFC 4291): ipaddr.js calls ::7f00:1 unicast
// and reads ::127.0.0.1 as the mapped ::ffff:127.0.0.1, so the range is checked on Node's
// parse of the address as it will be connected to.
const ipv4Compatible = new BlockList();
ipv4Compatible.addSubnet('::', 96, 'ipv6');
/** `::` and `::1`, in the same /96, keep their own names (unspecified, loopback). */
const unspecifiedOrLoopback = new BlockList();
unspecifiedOrLoopback.addAddress('::', 'ipv6');
unspecifiedOrLoopback.addAddress('::1', 'ipv6');

/**
 * Decides whether a delivery may connect to an IP address: undefined when it may, else the name of
 * the special range it falls in (`loopback`, `private`, `linkLocal`, `uniqueLocal`,
 * `carrierGradeNat`, `reserved`, …).
 */
export type AddressGuard = (address: string) => string | undefined;

/**
 * Builds the SSRF guard: every address outside public unicast space is refused (private,
 * loopback, link-local and so the cloud metadata services, CGNAT, multicast, broadcast,
 * documentation, benchmarking, reserved, unique-local, NAT64, 6to4, Teredo…), IPv4-mapped IPv6
 * addresses are judged as the IPv4 address they carry, deprecated IPv4-compatible ones (`::/96`,
 * `::7f00:1`) are refused whatever the allowlist, and `allowedCidrs` (e.g. `10.1.0.0/16`,
 * `127.0.0.1/32`) opens exactly the ranges you list. The ranges come from ipaddr.js.
 */
export function createAddressGuard(allowedCidrs: readonly string[] = []): AddressGuard {
  const allowed = allowedCidrs.map((cidr) => {
    try {
      return ipaddr.parseCIDR(normalizeCidr(cidr));
    } catch (error) {
      throw new InvalidArgumentError({
        message: `allowedCidrs: ${JSON.stringify(cidr)} is not a CIDR range such as "10.0.0.0/8".`,
        cause: error,
      });
    }
  });
  return (address) => {
    const bare = stripZone(address);
    let parsed: ipaddr.IPv4 | ipaddr.IPv6;
    try {
      parsed = ipaddr.process(bare);
    } catch {
      return 'invalid';
    }
    // Refused before the allowlist, which names IPv4 ranges, not this spelling of them.
    if (
      isIP(bare) === 6 &&
      ipv4Compatible.check(bare, 'ipv6') &&
      !unspecifiedOrLoopback.check(bare, 'ipv6')
    ) {
      return 'ipv4Compatible';
    }
    for (const [network, bits] of allowed) {
      if (network.kind() === parsed.kind() && parsed.match(network, bits)) return undefined;
    }
    const range = parsed.range();
    return range === 'unicast' ? undefined : range;
  };
}

/** `::ffff:10.0.0.0/104` → `10.0.0.0/8`, so mapped ranges are matched as IPv4. */
function normalizeCidr(cidr: string): string {
  const [address, bits] = cidr.split('/');
  const parsed = ipaddr.parse(address ?? '');
  if (parsed.kind() === 'ipv6' && (parsed as ipaddr.IPv6).isIPv4MappedAddress() && bits) {
    return `${(parsed as ipaddr.IPv6).toIPv4Address().toString()}/${Math.max(0, Number(bits) - 96)}`;
  }
  return cidr;
}

function stripZone(address: string): string {
  const bare = address.startsWith('[') && address.endsWith(']') ? address.slice(1, -1) : address;
  const zone = bare.indexOf('%');
  return zone < 0 ? bare : bare.slice(0, zone);
}
