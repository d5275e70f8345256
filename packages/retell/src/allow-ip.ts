import type { AllowClientAddress } from '@calltrack/core';

/**
 * Which client addresses the webhook handler accepts: core's `AllowClientAddress`, a list of
 * exact IP addresses (IPv4-mapped IPv6 matches the IPv4 form) or a function deciding per request.
 * `clientAddress` is the socket's peer address from the fetch handler's context (`toNodeHandler`
 * sets it); it is `undefined` when the runtime does not tell.
 */
export type AllowIp = AllowClientAddress;
