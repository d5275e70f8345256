import { CallTrackError, principalSchema, UnauthorizedError } from '@calltrack/core';
import { foreignRequestSender, type RequestHeaders } from '@calltrack/core/internal';
import { parseSseQuery } from './parse-sse-query';
import type { SseSettings } from './resolve-sse-settings';
import type { SseStreamInfo } from './sse-handler-options';

/** What a handler knows of a request before it opens a stream. */
export interface SseRequestParts {
  url: URL;
  /** The `Last-Event-ID` header: its value, or its values as sent (see `parseSseQuery`). */
  lastEventId: string | readonly string[] | null | undefined;
  /** Its headers, for `allowedOrigins` (`Origin`, `Sec-Fetch-Site`). */
  headers: RequestHeaders;
  /** The request for `authenticate` (the Node handler builds it only when asked). */
  request: () => Request;
}

/**
 * Authenticates a stream request and reads its query. Throws a 403 `origin_not_allowed` for a
 * request a page of an origin `allowedOrigins` does not list sent (core's `foreignRequestSender`;
 * before `authenticate` runs: nothing is done for a request a foreign page sent with the user's
 * cookies), `UnauthorizedError` (401) without
 * a principal and `InvalidArgumentError` (400) for a malformed query; an `authenticate` that
 * returns something that is not a valid `Principal` is a bug in the app (500).
 */
export async function authorizeSseRequest(
  settings: SseSettings,
  parts: SseRequestParts,
): Promise<SseStreamInfo> {
  const { allowedOrigins } = settings;
  const foreign = allowedOrigins && foreignRequestSender(parts.headers, allowedOrigins);
  if (foreign !== undefined) {
    throw new CallTrackError({
      message: `${foreign} may not open this stream.`,
      code: 'origin_not_allowed',
      status: 403,
    });
  }
  const principal = await settings.authenticate(parts.request());
  if (principal == null) {
    throw new UnauthorizedError({ message: 'Missing or invalid credentials.' });
  }
  const checked = principalSchema.safeParse(principal);
  if (!checked.success) {
    throw new Error(
      `authenticate() returned an invalid principal: ${checked.error.issues
        .map((issue) => `${issue.path.join('.') || 'principal'}: ${issue.message}`)
        .join('; ')}`,
    );
  }
  const query = parseSseQuery(parts.url.searchParams, parts.lastEventId, {
    maxFollowedCalls: settings.maxFollowedCalls,
  });
  return { principal, query };
}
