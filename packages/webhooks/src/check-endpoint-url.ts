import { isIP } from 'node:net';
import type { AddressGuard } from './create-address-guard';

/** What {@link checkEndpointUrl} allows beyond https URLs to public hosts. */
export interface EndpointUrlPolicy {
  /** Accept `http:` URLs (local development, tests). */
  allowHttp: boolean;
  /** The SSRF guard: an IP address in the URL must pass it. */
  guard: AddressGuard;
}

// Half a UTF-16 surrogate pair has no UTF-8 form. JSON.stringify writes it as `\ud800`, which
// the Redis store's scripts (cjson) cannot decode: an endpoint saved with one could never be
// updated, rotated or delivered to again.
const loneSurrogate = /\p{Cs}/u;

/** Whether `text` holds half of a UTF-16 surrogate pair on its own. */
export const hasLoneSurrogate = (text: string): boolean => loneSurrogate.test(text);

/** Why endpoint text with a lone surrogate is refused. */
export const loneSurrogateMessage = 'must not contain a lone surrogate (half of a UTF-16 pair)';

/**
 * Why an endpoint URL is refused, or undefined. https only (unless `allowHttp`), at most 2,048
 * characters, no user name or password in it (put credentials in the endpoint's headers), no
 * fragment, and an IP address in it must pass the SSRF guard. Host names are checked when each
 * delivery connects, after DNS resolution.
 */
export function checkEndpointUrl(value: unknown, policy: EndpointUrlPolicy): string | undefined {
  if (typeof value !== 'string' || value.length === 0) return 'is required';
  if (value.length > 2048) return 'must be at most 2,048 characters';
  if (hasLoneSurrogate(value)) return loneSurrogateMessage;
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return 'is not a valid URL';
  }
  if (url.protocol !== 'https:' && !(policy.allowHttp && url.protocol === 'http:')) {
    return policy.allowHttp ? 'must be an http or https URL' : 'must be an https URL';
  }
  if (url.username !== '' || url.password !== '') {
    return 'must not contain credentials; send them in a custom header instead';
  }
  if (url.hash !== '') return 'must not contain a fragment (#…)';
  if (url.hostname === '') return 'must name a host';
  const host = url.hostname.replace(/^\[|\]$/g, '');
  if (isIP(host) !== 0) {
    const range = policy.guard(host);
    if (range !== undefined) {
      return `points to a ${range} address (${host}); webhooks may only reach public addresses unless the range is in allowedCidrs`;
    }
  }
  return undefined;
}
