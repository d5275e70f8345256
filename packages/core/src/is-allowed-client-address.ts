/**
 * Which client addresses a webhook handler accepts: a list of exact IP addresses, or a function
 * deciding per request. `clientAddress` is the socket's peer address from the fetch handler's
 * context (`toNodeHandler` sets it); it is `undefined` when the runtime does not tell.
 */
export type AllowClientAddress =
  | readonly string[]
  | ((clientAddress: string | undefined, request: Request) => boolean | Promise<boolean>);

/**
 * True when `allowIp` is unset or admits `clientAddress`. Both sides are compared in one form:
 * an IPv6 address however it is written (`0:0:0:0:0:0:0:1` is `::1`, `2001:DB8::1` is
 * `2001:db8::1`), and an IPv4-mapped IPv6 address (`::ffff:100.20.5.228`, `::ffff:6414:5e4`) as
 * its IPv4 form. A function is awaited and only `true` admits. `request` may be given as a
 * function that builds it, called only when `allowIp` is a function.
 */
export async function isAllowedClientAddress(
  allowIp: AllowClientAddress | undefined,
  clientAddress: string | undefined,
  request: Request | (() => Request),
): Promise<boolean> {
  if (allowIp === undefined) return true;
  if (typeof allowIp === 'function') {
    const built = typeof request === 'function' ? request() : request;
    return (await allowIp(clientAddress, built)) === true;
  }
  if (clientAddress === undefined) return false;
  const address = canonicalAddress(clientAddress);
  return address !== undefined && canonicalList(allowIp).has(address);
}

/** Each list's entries in canonical form, read once per list (the handler keeps its list). */
const canonicalLists = new WeakMap<readonly string[], ReadonlySet<string>>();

function canonicalList(list: readonly string[]): ReadonlySet<string> {
  let canonical = canonicalLists.get(list);
  if (canonical === undefined) {
    canonical = new Set(
      list.map(canonicalAddress).filter((entry): entry is string => entry !== undefined),
    );
    canonicalLists.set(list, canonical);
  }
  return canonical;
}

const ipv4 = /^(?:(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)\.){3}(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)$/;

/**
 * One spelling of an IP address: IPv4 as it is, IPv6 as the URL standard writes it (RFC 5952:
 * lower case, no leading zeros, the longest run of zero groups as `::`) with its zone kept, and an
 * IPv4-mapped IPv6 address as its IPv4 form. Undefined for anything that is not an address.
 */
export function canonicalAddress(address: string): string | undefined {
  const trimmed = address.trim();
  if (ipv4.test(trimmed)) return trimmed;
  const zoneAt = trimmed.indexOf('%');
  const ipv6 = zoneAt === -1 ? trimmed : trimmed.slice(0, zoneAt);
  const zone = zoneAt === -1 ? '' : trimmed.slice(zoneAt);
  if (!ipv6.includes(':')) return undefined;
  let hostname: string;
  try {
    hostname = new URL(`http://[${ipv6}]/`).hostname;
  } catch {
    return undefined;
  }
  const canonical = hostname.slice(1, -1);
  const mapped = /^::ffff:([0-9a-f]{1,4}):([0-9a-f]{1,4})$/.exec(canonical);
  if (mapped === null) return `${canonical}${zone}`;
  const high = Number.parseInt(mapped[1]!, 16);
  const low = Number.parseInt(mapped[2]!, 16);
  return `${high >> 8}.${high & 255}.${low >> 8}.${low & 255}`;
}
