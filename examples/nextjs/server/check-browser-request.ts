import { readPublicUrl } from './public-url';

const readMethods = new Set(['GET', 'HEAD', 'OPTIONS']);

/**
 * A 403 for a request the demo's browser routes (the calls API, recordings, tRPC) must not
 * answer, or undefined to let it through. The demo has no login: reaching the app is the
 * credential, and any page the operator opens can reach it. So:
 *
 * - a request naming a host other than loopback's (`localhost`, `*.localhost`, 127.0.0.0/8,
 *   `[::1]`), `PUBLIC_URL`'s or one listed in `ALLOWED_DEV_ORIGINS` is refused
 *   (`host_not_allowed`): it is a page of a site whose name was pointed at this machine (DNS
 *   rebinding), which reads the app as its own origin, or a client naming a host of its own;
 * - a write from a page of another origin is refused (`origin_not_allowed`): a bodyless `POST`
 *   needs no preflight. Requests without `Origin` (curl, scripts) pass this one, unless the
 *   browser's `Sec-Fetch-Site` says another origin's page sent it (a `no-cors` fetch).
 *
 * The provider webhooks are not checked: servers, signed, maybe through a tunnel under another
 * name (as in the Express example, decision 0031). A real app checks its session instead.
 */
export function checkBrowserRequest(request: Request): Response | undefined {
  const publicUrl = readPublicUrl();
  const host = request.headers.get('host');
  if (host === null || !isAllowedHost(host, publicUrl)) {
    return refuse(
      'host_not_allowed',
      'This app answers to localhost only (or PUBLIC_URL’s host, or ALLOWED_DEV_ORIGINS).',
    );
  }
  if (readMethods.has(request.method.toUpperCase())) return undefined;
  const origin = request.headers.get('origin');
  if (origin === null) {
    // No Origin: a no-cors fetch of another origin's page sends none, with the cookies; the
    // browser's Sec-Fetch-Site still says where it came from.
    const site = request.headers.get('sec-fetch-site');
    if (site !== 'cross-site' && site !== 'same-site') return undefined;
  } else if (origin === publicUrl?.origin) {
    return undefined;
  } else if (origin === `http://${host}` || origin === `https://${host}`) {
    return undefined;
  }
  return refuse(
    'origin_not_allowed',
    'Requests that change calls come from the app’s own pages only.',
  );
}

function refuse(code: string, message: string): Response {
  return Response.json({ error: { code, message } }, { status: 403 });
}

function isAllowedHost(host: string, publicUrl: URL | undefined): boolean {
  // A name or address and a port, nothing that URL would read as more (`evil.example@localhost`).
  if (/[^a-z0-9.:[\]-]/i.test(host)) return false;
  let named: URL;
  try {
    // With PUBLIC_URL's scheme, a default port written out (`:443`) reads as PUBLIC_URL's host.
    named = new URL(`${publicUrl?.protocol ?? 'http:'}//${host}`);
  } catch {
    return false;
  }
  // A name may end with the root's dot (`localhost.`, `app.example.`): the same host.
  const hostname = named.hostname.replace(/\.$/, '');
  if (
    publicUrl !== undefined &&
    hostname === publicUrl.hostname.replace(/\.$/, '') &&
    named.port === publicUrl.port
  ) {
    return true;
  }
  return (
    hostname === 'localhost' ||
    hostname.endsWith('.localhost') ||
    hostname === '[::1]' ||
    /^127(?:\.\d{1,3}){3}$/.test(hostname) ||
    devHosts().includes(hostname)
  );
}

/** `ALLOWED_DEV_ORIGINS` (host names, comma-separated): hosts the operator opens the page on. */
function devHosts(): string[] {
  return (process.env.ALLOWED_DEV_ORIGINS ?? '')
    .split(',')
    .map((entry) => entry.trim().toLowerCase())
    .filter(Boolean);
}
