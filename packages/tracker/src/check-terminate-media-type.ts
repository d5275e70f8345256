import { UnsupportedMediaTypeError } from '@calltrack/core';

/**
 * `POST /calls/:callId/terminate` takes no body: a content type other than `application/json` is
 * 415, as `POST /calls` answers. That keeps a cross-site HTML form (which sends
 * `application/x-www-form-urlencoded`, `multipart/form-data` or `text/plain`, with the session
 * cookie) from hanging up a call. @internal
 */
export function checkTerminateMediaType(request: Request): void {
  const contentType = request.headers.get('content-type');
  if (contentType === null) return;
  const mediaType = contentType.split(';')[0]!.trim().toLowerCase();
  if (mediaType !== 'application/json') {
    throw new UnsupportedMediaTypeError({
      message: 'POST /calls/:callId/terminate takes no body, or application/json.',
    });
  }
}
