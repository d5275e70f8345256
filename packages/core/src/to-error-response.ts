import { CallTrackError } from './errors/calltrack-error';
import { jsonResponse } from './json-response';

/**
 * Turns an error into the JSON `Response` a handler answers with:
 * `{ "error": { "code", "message" } }` and the error's status for a {@link CallTrackError};
 * a generic 500 that reveals nothing for anything else.
 */
export function toErrorResponse(error: unknown): Response {
  if (CallTrackError.isInstance(error)) {
    return jsonResponse(
      { error: { code: error.code, message: error.message } },
      { status: error.status },
    );
  }
  return jsonResponse(
    { error: { code: 'internal_error', message: 'Internal server error.' } },
    { status: 500 },
  );
}
