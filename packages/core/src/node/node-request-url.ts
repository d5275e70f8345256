import type { IncomingMessage } from 'node:http';

/** Options of {@link nodeRequestUrl}: say explicitly whether forwarded headers are trusted. */
export interface NodeRequestUrlOptions {
  /**
   * Take the protocol and host from `Forwarded` (`proto=`, `host=`) or `X-Forwarded-Proto` /
   * `X-Forwarded-Host` (first value) when present. Set it only behind a proxy you run that
   * overwrites those headers: otherwise any client can choose the URL your handler sees.
   */
  trustProxy: boolean;
  /** The public host (with port), used instead of the `Host` header (and forwarded headers). */
  host?: string | undefined;
  /** The public protocol, `https:` or `http:`; defaults to the socket's (or the forwarded one). */
  protocol?: string | undefined;
}

/** What Express adds to a request mounted under a path. */
interface FrameworkRequest extends IncomingMessage {
  originalUrl?: string;
}

/**
 * The URL a client requested, rebuilt from a Node request: protocol from the socket (TLS or not),
 * host from the `Host` header, and the path and query exactly as received (Express's
 * `originalUrl` under a mount path, since signatures cover the full path). With
 * `trustProxy: true` the protocol and host come from the proxy's forwarded headers; `host` and
 * `protocol` override both. Never throws: a request whose `Host` does not form a URL gets
 * `http://localhost` with its path.
 *
 * @example
 * nodeRequestUrl(request, { trustProxy: false }).searchParams.get('tenant');
 */
export function nodeRequestUrl(incoming: IncomingMessage, options: NodeRequestUrlOptions): URL {
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
  if (options.trustProxy && (protocol === undefined || host === undefined)) {
    protocol ??= forwardedProtocol(incoming);
    host ??= forwardedHost(incoming);
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

function forwardedProtocol(incoming: IncomingMessage): string | undefined {
  const value =
    forwardedParameter(header(incoming, 'forwarded'), 'proto') ??
    firstValue(header(incoming, 'x-forwarded-proto'));
  const protocol = value?.toLowerCase().replace(/:$/, '');
  return protocol === 'http' || protocol === 'https' ? `${protocol}:` : undefined;
}

function forwardedHost(incoming: IncomingMessage): string | undefined {
  return validHost(
    forwardedParameter(header(incoming, 'forwarded'), 'host') ??
      firstValue(header(incoming, 'x-forwarded-host')),
  );
}

/**
 * A host never holds these; a value that does would change the path or user of the URL. One that
 * does not form a URL at all (`a:b`) is no host either.
 */
function validHost(value: string | undefined): string | undefined {
  if (value === undefined || value === '' || /[\s/?#@\\]/.test(value)) return undefined;
  return URL.canParse(`http://${value}/`) ? value : undefined;
}

/**
 * The client's address: the socket's peer, or with `trustProxy` the address your proxy saw, which
 * is the last entry of `Forwarded: for=` / `X-Forwarded-For` (earlier entries are whatever the
 * client sent, so they are never trusted).
 * @internal
 */
export function nodeClientAddress(
  incoming: IncomingMessage,
  options: { trustProxy: boolean },
): string | undefined {
  if (options.trustProxy) {
    const forwarded = lastForwardedFor(incoming);
    if (forwarded !== undefined) return forwarded;
  }
  return incoming.socket.remoteAddress;
}

function lastForwardedFor(incoming: IncomingMessage): string | undefined {
  const forwarded = header(incoming, 'forwarded');
  let candidate: string | undefined;
  if (forwarded !== undefined) {
    const elements = splitOutsideQuotes(forwarded, ',');
    candidate = parameterOf(elements.at(-1) ?? '', 'for');
  }
  candidate ??= header(incoming, 'x-forwarded-for')?.split(',').at(-1)?.trim();
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

function forwardedParameter(value: string | undefined, name: string): string | undefined {
  if (value === undefined) return undefined;
  return parameterOf(splitOutsideQuotes(value, ',')[0] ?? '', name);
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
