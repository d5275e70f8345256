/**
 * `PUBLIC_URL`, parsed: the origin (and base path) the providers reach this app at, behind a
 * proxy or tunnel; undefined when unset. Throws on a value that is not an absolute http(s) URL.
 */
export function readPublicUrl(value = process.env.PUBLIC_URL): URL | undefined {
  if (value === undefined || value === '') return undefined;
  let url: URL | undefined;
  try {
    url = new URL(value);
  } catch {
    // reported below
  }
  if (url === undefined || (url.protocol !== 'https:' && url.protocol !== 'http:')) {
    throw new Error(
      `PUBLIC_URL must be an absolute http(s) URL such as https://abc.ngrok.app, not ${JSON.stringify(value)}`,
    );
  }
  return url;
}

/**
 * Where the providers send a placed call's progress (Twilio's status and AMD callbacks):
 * `PUBLIC_URL`, else this server on `localhost` at its own port (`next start` and `next dev`
 * set `PORT`). Never the request's `Host`: any client that reaches the port chooses that, and
 * the call's numbers, status and answering-machine result would go to its host.
 */
export function callbackBase(env: NodeJS.ProcessEnv = process.env): string {
  const publicUrl = readPublicUrl(env.PUBLIC_URL);
  if (publicUrl !== undefined)
    return `${publicUrl.origin}${publicUrl.pathname.replace(/\/+$/, '')}`;
  return `http://localhost:${env.PORT || '3000'}`;
}
