import type { IncomingHttpHeaders } from 'node:http';

/** Options of {@link checkBrowserRequest}. */
export interface BrowserRequestCheck {
  /**
   * The request's method; a live stream's opening (a Socket.IO handshake, the SSE stream) passes
   * `'STREAM'`, checked as writes are: a WebSocket is not held to CORS (any page can open one
   * and read what it streams), and opening either registers the user's presence.
   */
  method: string;
  headers: IncomingHttpHeaders;
  /** `PUBLIC_URL`'s origin, when the app has one: pages served from it are the app's own. */
  publicOrigin: string | undefined;
  /**
   * True when the app listens on loopback only: then a `Host` that is not a loopback name (or
   * `PUBLIC_URL`'s) is refused. On other interfaces (`HOST=0.0.0.0`) the machine's addresses
   * are taken too (`192.168.1.20:3000`, `[fd00::20]:3000`), but still no other name: a page of a
   * site whose name was pointed at this machine (DNS rebinding) names its own host, and would
   * read and write the console as if it were its own.
   */
  loopbackOnly: boolean;
}

const readMethods = new Set(['GET', 'HEAD', 'OPTIONS']);

/**
 * Why a browser request must be refused, or undefined to let it through. The demo has no login:
 * reaching the app is the credential, and any page the operator opens can reach 127.0.0.1. So
 * a write (or a stream's opening) from a page of another
 * origin is refused (`origin_not_allowed`), and so is any request naming a host the app does not
 * answer to (`host_not_allowed`): loopback's and `PUBLIC_URL`'s, and the machine's addresses
 * when it listens beyond loopback. A request without `Origin` (curl, a provider, a same-origin
 * GET) passes the first check, unless the browser's `Sec-Fetch-Site` says another origin's page
 * sent it. A real app with cookie sessions needs the same: the `allowedOrigins` of every
 * calltrack handler it mounts (the read API's call control, the webhooks API, the dialer, the
 * transports).
 */
export function checkBrowserRequest(
  check: BrowserRequestCheck,
): 'origin_not_allowed' | 'host_not_allowed' | undefined {
  const host = check.headers.host?.toLowerCase();
  const publicHost =
    check.publicOrigin === undefined ? undefined : new URL(check.publicOrigin).host;
  if (host === undefined || !isAllowedHost(host, publicHost, check.loopbackOnly)) {
    return 'host_not_allowed';
  }
  if (readMethods.has(check.method.toUpperCase())) return undefined;
  const origin = check.headers.origin;
  if (origin === undefined) {
    // No Origin: an image or a no-cors fetch of another origin's page sends none, with the
    // cookies; the browser's Sec-Fetch-Site still says where it came from.
    const site = check.headers['sec-fetch-site'];
    return site === 'cross-site' || site === 'same-site' ? 'origin_not_allowed' : undefined;
  }
  if (origin === check.publicOrigin) return undefined;
  return origin === `http://${host}` || origin === `https://${host}`
    ? undefined
    : 'origin_not_allowed';
}

/**
 * `localhost`, a `.localhost` name, 127.0.0.0/8 or `[::1]`, with any port; or the public host;
 * unless `loopbackOnly`, any IP address too (never a name: a site can point its name at this
 * machine, but it cannot make the browser name it by address).
 */
function isAllowedHost(
  host: string,
  publicHost: string | undefined,
  loopbackOnly: boolean,
): boolean {
  if (host === publicHost) return true;
  // A name or address and a port, nothing that URL would read as more (`evil.example@localhost`).
  if (/[^a-z0-9.:[\]-]/.test(host)) return false;
  let hostname: string;
  try {
    // A name may end with the root's dot (`localhost.`): the same host.
    hostname = new URL(`http://${host}`).hostname.replace(/\.$/, '');
  } catch {
    return false;
  }
  if (
    hostname === 'localhost' ||
    hostname.endsWith('.localhost') ||
    hostname === '[::1]' ||
    /^127(?:\.\d{1,3}){3}$/.test(hostname)
  ) {
    return true;
  }
  // URL writes an IPv4 address as four decimal numbers, an IPv6 one in brackets.
  return !loopbackOnly && (/^\d{1,3}(?:\.\d{1,3}){3}$/.test(hostname) || hostname.startsWith('['));
}
