import { lookup as dnsLookup, type LookupAddress, type LookupAllOptions } from 'node:dns';
import type { LookupFunction } from 'node:net';
import type { AddressGuard } from './create-address-guard';
import { AddressBlockedError } from './errors/address-blocked-error';

/** Resolves a host name to all its addresses (the shape of `dns.lookup` with `all: true`). */
export type ResolveHost = (
  hostname: string,
  options: LookupAllOptions,
  callback: (error: NodeJS.ErrnoException | null, addresses: LookupAddress[]) => void,
) => void;

/**
 * A `lookup` for `net.connect` / `tls.connect` that resolves the host, then refuses the
 * connection when any address it resolved to is refused by the guard. It runs for every new
 * connection, after DNS and right before the socket connects, so a name that resolved to a public
 * address when the endpoint was saved and to a private one now (DNS rebinding) is refused.
 */
export function createGuardedLookup(
  guard: AddressGuard,
  resolve: ResolveHost = dnsLookup,
): LookupFunction {
  return (hostname, options, callback) => {
    resolve(hostname, { ...options, all: true }, (error, addresses) => {
      if (error) {
        callback(error, '', 4);
        return;
      }
      for (const { address } of addresses) {
        const range = guard(address);
        if (range !== undefined) {
          callback(blockedError(hostname, range) as NodeJS.ErrnoException, '', 4);
          return;
        }
      }
      if (addresses.length === 0) {
        callback(
          Object.assign(new Error(`${hostname} has no address`), { code: 'ENOTFOUND' }),
          '',
          4,
        );
        return;
      }
      if ((options as { all?: boolean }).all) {
        (callback as unknown as (error: null, addresses: LookupAddress[]) => void)(null, addresses);
      } else {
        callback(null, addresses[0]!.address, addresses[0]!.family);
      }
    });
  };
}

/**
 * The error for an address the guard refused, naming the host (as the endpoint's URL has it) and
 * the range. Not the address a name resolved to: the message reaches the tenant's log and test
 * sends, and what internal names resolve to is not the tenant's to learn.
 */
export function blockedError(host: string, range: string): AddressBlockedError {
  return new AddressBlockedError({
    message: `Refused to connect to ${host}: it is a ${range} address. Outbound webhooks may not reach private, loopback, link-local, metadata or other special addresses; list the range in allowedCidrs to allow it.`,
  });
}
