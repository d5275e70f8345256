import { canonicalAddress } from './is-allowed-client-address';

/**
 * The key of a client address's request budget (`rateLimit.perClientAddress`): `address:<IPv4>`,
 * an IPv4-mapped IPv6 address counted as its IPv4 address, and an IPv6 address by its /64
 * (`address:2001:db8:1:2::/64`). A /64 is the smallest block a network hands one host or one
 * customer (SLAAC, a cloud VM, a home line), who may send from any of its 2^64 addresses: per
 * address, each request could come from a fresh one and never spend a budget. Anything that is
 * not an address is keyed as it is.
 */
export function clientAddressBudgetKey(clientAddress: string): string {
  const canonical = canonicalAddress(clientAddress);
  if (canonical === undefined) return `address:${clientAddress}`;
  if (!canonical.includes(':')) return `address:${canonical}`;
  const zoneAt = canonical.indexOf('%');
  const address = zoneAt === -1 ? canonical : canonical.slice(0, zoneAt);
  const [head = '', tail] = address.split('::');
  const headGroups = head === '' ? [] : head.split(':');
  const tailGroups = tail === undefined || tail === '' ? [] : tail.split(':');
  const groups =
    tail === undefined
      ? headGroups
      : [
          ...headGroups,
          ...Array<string>(8 - headGroups.length - tailGroups.length).fill('0'),
          ...tailGroups,
        ];
  const prefix = new URL(`http://[${groups.slice(0, 4).join(':')}::]/`).hostname.slice(1, -1);
  return `address:${prefix}/64`;
}
