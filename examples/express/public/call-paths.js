// Paths of the API routes that name a call, for every page of the console: the tracker's
// (`/api/calls/active/:id`, `/api/calls/:id/terminate`) and the app's own (`/timeline`,
// `/recording`), which read the id back the same way (src/read-call-id-param.ts).

/**
 * A call id as one path segment: the rule of `callIdPathSegment` in @calltrack/core, which a
 * page without a build step cannot import (decision 0064). `count` and `active` are words of the
 * routes, so their first letter is percent-encoded; URLs resolve `.` and `..` away even
 * percent-encoded, so they go after a NUL the routes drop.
 */
export function callIdPathSegment(callId) {
  if (callId === 'count' || callId === 'active') {
    return `%${callId.charCodeAt(0).toString(16)}${callId.slice(1)}`;
  }
  if (callId === '.' || callId === '..') return `%00${callId}`;
  return encodeURIComponent(callId);
}

/** `/api/calls/active/:id`: the call as the tracker knows it (also a recently ended one). */
export const activeCallPath = (callId) => `/api/calls/active/${callIdPathSegment(callId)}`;

/** `/api/calls/:id/<action>`: `terminate` (the tracker's), `timeline` and `recording` (the app's). */
export const callPath = (callId, action) => `/api/calls/${callIdPathSegment(callId)}/${action}`;
