/**
 * Which client addresses a webhook handler accepts: a list of exact IP addresses, or a function
 * deciding per request. `clientAddress` is the socket's peer address from the fetch handler's
 * context (`toNodeHandler` sets it); it is `undefined` when the runtime does not tell.
 */
export type AllowClientAddress =
  | readonly string[]
  | ((clientAddress: string | undefined, request: Request) => boolean | Promise<boolean>);

/**
 * True when `allowIp` is unset or admits `clientAddress`. IPv4-mapped IPv6 addresses
 * (`::ffff:100.20.5.228`) match their IPv4 form. A function is awaited and only `true` admits.
 * `request` may be given as a function that builds it, called only when `allowIp` is a function.
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
  const address = normalizeAddress(clientAddress);
  return allowIp.some((entry) => normalizeAddress(entry) === address);
}

function normalizeAddress(address: string): string {
  const lower = address.trim().toLowerCase();
  return lower.startsWith('::ffff:') && lower.includes('.') ? lower.slice(7) : lower;
}
