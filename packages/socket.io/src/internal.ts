/**
 * `@calltrack/socket.io/internal`: for calltrack's own code. The dialer's `/socket.io` entry
 * guards its namespace with the same origin and handshake checks as `attachCallTrack`; the Socket.IO bench's
 * raw baseline sends the same lifecycle events. Not part of the public API and not covered by
 * semver: it changes together with its users.
 *
 * @internal
 * @packageDocumentation
 */
export { authenticateHandshake, refuseConnection } from './authenticate-handshake';
export { lifecycleEventName } from './lifecycle-event-name';
export { refuseForeignOrigin } from './refuse-foreign-origin';
