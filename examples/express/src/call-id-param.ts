import type { Request as ExpressRequest, Response as ExpressResponse, NextFunction } from 'express';

/**
 * Route middleware of the console's own `/api/calls/:callId/…` routes: a raw `active` segment is
 * the tracker's word (`/api/calls/active/timeline` reads the call named `timeline`), so the
 * request goes on to the tracker. The call named `active` is written `%61ctive`
 * (`callIdPathSegment`), which Express decodes to the same param.
 */
export function passTrackerWords(
  request: ExpressRequest,
  _response: ExpressResponse,
  next: NextFunction,
): void {
  next(request.path.split('/')[3] === 'active' ? 'route' : undefined);
}

/**
 * The call id of a `/api/calls/:callId/…` route, read as the tracker's routes read theirs
 * (decision 0064): percent-decoded (by Express), less one leading NUL. URLs resolve `.` and `..`
 * away, so `callIdPathSegment` writes those calls `%00.` and `%00..`; no call id holds a NUL.
 */
export function callIdParam(request: ExpressRequest): string {
  const decoded = String(request.params.callId ?? '');
  return decoded.startsWith('\u0000') ? decoded.slice(1) : decoded;
}
