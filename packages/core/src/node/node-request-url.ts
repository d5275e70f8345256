import type { IncomingMessage } from 'node:http';
import { InvalidArgumentError } from '../errors/invalid-argument-error';

/**
 * Whether a proxy you run stands in front of the app, and which forwarded headers it sets:
 * `false` (none are read), `true` or `{ header: 'x-forwarded' }` (`X-Forwarded-For`,
 * `X-Forwarded-Proto`, `X-Forwarded-Host`: what nginx, AWS load balancers, Heroku and Cloudflare
 * set, and what Express's `trust proxy` reads), or `{ header: 'forwarded' }` (RFC 7239
 * `Forwarded`: `for=`, `proto=`, `host=`). Only the named family is read: a proxy passes the other
 * one on from the client untouched.
 */
export type TrustProxy = boolean | { header: 'x-forwarded' | 'forwarded' };

/** Options of {@link nodeRequestUrl}: say explicitly whether forwarded headers are trusted. */
export interface NodeRequestUrlOptions {
  /**
   * Take the protocol and host from the forwarded headers of your proxy ({@link TrustProxy}):
   * `X-Forwarded-Proto` / `X-Forwarded-Host` (first value) with `true`, or `proto=` / `host=` of
   * the last `Forwarded` element with `{ header: 'forwarded' }`. Set it only behind a proxy you
   * run that sets those headers: otherwise any client can choose the URL your handler sees.
   */
  trustProxy: TrustProxy;
  /** The public host (with port), used instead of the `Host` header (and forwarded headers). */
  host?: string | undefined;
  /** The public protocol, `https:` or `http:`; defaults to the socket's (or the forwarded one). */
  protocol?: string | undefined;
}

/** The family of forwarded headers a {@link TrustProxy} trusts, if any. */
type ProxyHeaders = 'x-forwarded' | 'forwarded' | undefined;

/**
 * The forwarded headers `trustProxy` trusts; throws `InvalidArgumentError` for a value that is
 * none of {@link TrustProxy}'s, rather than guess which headers were meant.
 * @internal
 */
export function trustedProxyHeaders(trustProxy: TrustProxy, createdBy: string): ProxyHeaders {
  if (trustProxy === false) return undefined;
  if (trustProxy === true) return 'x-forwarded';
  const header =
    typeof trustProxy === 'object' && trustProxy !== null
      ? (trustProxy as { header?: unknown }).header
      : undefined;
  if (header === 'x-forwarded' || header === 'forwarded') return header;
  throw new InvalidArgumentError({
    message: `${createdBy}: trustProxy must be true, false, { header: 'x-forwarded' } or { header: 'forwarded' }.`,
  });
}

/**
 * The `host` and `protocol` options of `toNodeHandler`, checked once when it is created: a
 * protocol `http` or `https`, with or without its colon (Express spells `req.protocol` without),
 * returned with it; a host with an optional port. Anything else throws `InvalidArgumentError`:
 * it made a URL no `Request` parses (every request a 500) or the wrong one (every webhook
 * signature refused).
 * @internal
 */
export function checkedUrlOrigin(
  options: { host?: unknown; protocol?: unknown },
  createdBy: string,
): { host: string | undefined; protocol: string | undefined } {
  const { host, protocol } = options;
  let checkedProtocol: string | undefined;
  if (protocol !== undefined) {
    const name = typeof protocol === 'string' ? protocol.toLowerCase().replace(/:$/, '') : '';
    if (name !== 'http' && name !== 'https') {
      throw new InvalidArgumentError({
        message: `${createdBy}: protocol must be 'https:' or 'http:'.`,
      });
    }
    checkedProtocol = `${name}:`;
  }
  if (host !== undefined && (typeof host !== 'string' || validHost(host) === undefined)) {
    throw new InvalidArgumentError({
      message: `${createdBy}: host must be a host name with an optional port (hooks.example.com:8443), not a URL.`,
    });
  }
  return { host, protocol: checkedProtocol };
}

/** What Express adds to a request mounted under a path. */
interface FrameworkRequest extends IncomingMessage {
  originalUrl?: string;
}

/**
 * The URL a client requested, rebuilt from a Node request: protocol from the socket (TLS or not),
 * host from the `Host` header, and the path and query exactly as received (Express's
 * `originalUrl` under a mount path, since signatures cover the full path). With `trustProxy` the
 * protocol and host come from the proxy's forwarded headers (`X-Forwarded-*` for `true`, RFC 7239
 * `Forwarded` for `{ header: 'forwarded' }`, never both); `host` and `protocol` override them.
 * Throws `InvalidArgumentError` only for a `trustProxy` that is none of {@link TrustProxy}'s
 * values; for any request it returns a URL: one whose `Host` does not form a URL gets
 * `http://localhost` with its path.
 *
 * @example
 * nodeRequestUrl(request, { trustProxy: false }).searchParams.get('tenant');
 */
export function nodeRequestUrl(incoming: IncomingMessage, options: NodeRequestUrlOptions): URL {
  trustedProxyHeaders(options.trustProxy, 'nodeRequestUrl');
  const href = nodeRequestHref(incoming, options);
  try {
    return new URL(href);
  } catch {
    return new URL(requestPath(incoming), 'http://localhost');
  }
}

/**
 * {@link nodeRequestUrl} as a string, without parsing it (the `Request` constructor parses it).
 * @internal
 */
export function nodeRequestHref(incoming: IncomingMessage, options: NodeRequestUrlOptions): string {
  let protocol = options.protocol;
  let host = options.host;
  if (options.trustProxy !== false && (protocol === undefined || host === undefined)) {
    const proxyHeaders = trustedProxyHeaders(options.trustProxy, 'nodeRequestUrl');
    protocol ??= forwardedProtocol(incoming, proxyHeaders);
    host ??= forwardedHost(incoming, proxyHeaders);
  }
  protocol ??= (incoming.socket as { encrypted?: boolean }).encrypted === true ? 'https:' : 'http:';
  host ??= validHost(incoming.headers.host) ?? 'localhost';
  return `${protocol}//${host}${requestPath(incoming)}`;
}

function requestPath(incoming: IncomingMessage): string {
  const original = (incoming as FrameworkRequest).originalUrl;
  const path = typeof original === 'string' ? original : (incoming.url ?? '/');
  return path.startsWith('/') ? path : `/${path}`;
}

function forwardedProtocol(
  incoming: IncomingMessage,
  proxyHeaders: ProxyHeaders,
): string | undefined {
  const value =
    proxyHeaders === 'forwarded'
      ? lastForwardedParameter(incoming, 'proto')
      : firstValue(header(incoming, 'x-forwarded-proto'));
  const protocol = value?.toLowerCase().replace(/:$/, '');
  return protocol === 'http' || protocol === 'https' ? `${protocol}:` : undefined;
}

function forwardedHost(incoming: IncomingMessage, proxyHeaders: ProxyHeaders): string | undefined {
  return validHost(
    proxyHeaders === 'forwarded'
      ? lastForwardedParameter(incoming, 'host')
      : firstValue(header(incoming, 'x-forwarded-host')),
  );
}

/**
 * A host never holds these; a value that does would change the path or user of the URL. One that
 * does not form a URL at all (`a:b`) is no host either.
 */
function validHost(value: string | undefined): string | undefined {
  if (value === undefined || value === '') return undefined;
  // A server's requests name the same few hosts: the last one that passed is not parsed again.
  if (value === lastValidHost) return value;
  if (/[\s/?#@\\]/.test(value) || !URL.canParse(`http://${value}/`)) return undefined;
  lastValidHost = value;
  return value;
}

/** The last value {@link validHost} accepted. */
let lastValidHost: string | undefined;

/**
 * The client's address: the socket's peer, or with `trustProxy` the address your proxy saw, which
 * is the last entry of `X-Forwarded-For` (or, with `{ header: 'forwarded' }`, the `for=` of the
 * last `Forwarded` element): earlier entries are whatever the client sent, and so is the header
 * family the proxy does not set, so they are never trusted.
 * @internal
 */
export function nodeClientAddress(
  incoming: IncomingMessage,
  options: { trustProxy: TrustProxy },
): string | undefined {
  if (options.trustProxy !== false) {
    const forwarded = lastForwardedFor(
      incoming,
      trustedProxyHeaders(options.trustProxy, 'toNodeHandler'),
    );
    if (forwarded !== undefined) return forwarded;
  }
  return incoming.socket.remoteAddress;
}

function lastForwardedFor(
  incoming: IncomingMessage,
  proxyHeaders: ProxyHeaders,
): string | undefined {
  const candidate =
    proxyHeaders === 'forwarded'
      ? lastForwardedParameter(incoming, 'for')
      : header(incoming, 'x-forwarded-for')?.split(',').at(-1)?.trim();
  if (candidate === undefined || candidate === '') return undefined;
  // `[2001:db8::1]:4711`, `192.0.2.1:4711` → the address alone.
  const bracketed = /^\[([^\]]+)\](?::\d+)?$/.exec(candidate);
  if (bracketed) return bracketed[1];
  const withPort = /^(\d{1,3}(?:\.\d{1,3}){3}):\d+$/.exec(candidate);
  if (withPort) return withPort[1];
  return /^[0-9a-fA-F:.]+$/.test(candidate) ? candidate : undefined;
}

function header(incoming: IncomingMessage, name: string): string | undefined {
  const value = incoming.headers[name];
  return Array.isArray(value) ? value.join(', ') : value;
}

function firstValue(value: string | undefined): string | undefined {
  const first = value?.split(',')[0]?.trim();
  return first === '' ? undefined : unquote(first);
}

/** A parameter of the last `Forwarded` element: the one your proxy added (RFC 7239 appends). */
function lastForwardedParameter(incoming: IncomingMessage, name: string): string | undefined {
  const value = header(incoming, 'forwarded');
  if (value === undefined) return undefined;
  return parameterOf(splitOutsideQuotes(value, ',').at(-1) ?? '', name);
}

function parameterOf(element: string, name: string): string | undefined {
  for (const parameter of splitOutsideQuotes(element, ';')) {
    const equals = parameter.indexOf('=');
    if (equals === -1) continue;
    if (parameter.slice(0, equals).trim().toLowerCase() !== name) continue;
    const value = unquote(parameter.slice(equals + 1).trim());
    return value === '' ? undefined : value;
  }
  return undefined;
}

function splitOutsideQuotes(value: string, delimiter: string): string[] {
  const parts: string[] = [];
  let start = 0;
  let quoted = false;
  for (let index = 0; index < value.length; index += 1) {
    const char = value[index];
    if (char === '\\' && quoted) index += 1;
    else if (char === '"') quoted = !quoted;
    else if (char === delimiter && !quoted) {
      parts.push(value.slice(start, index));
      start = index + 1;
    }
  }
  parts.push(value.slice(start));
  return parts;
}

function unquote(value: string | undefined): string | undefined {
  if (value === undefined || !value.startsWith('"') || !value.endsWith('"') || value.length < 2) {
    return value;
  }
  return value.slice(1, -1).replace(/\\(.)/g, '$1');
}
