import { redactErrorValues } from './redact-error-values';

/**
 * The `Error` an `onError` hook is given for any thrown value: an `Error` as it is, anything else
 * (a string, a plain object a user's store threw) wrapped in one whose `cause` is the value, so
 * every calltrack `onError` can promise an `Error` with a `message`. Either way without the
 * values a refused Redis command or a PostgreSQL constraint carried (see `redactErrorValues`):
 * reported errors reach logs.
 */
export function toError(value: unknown): Error {
  if (value instanceof Error) {
    redactErrorValues(value);
    return value;
  }
  let message: string;
  try {
    message = typeof value === 'string' ? value : `Non-Error thrown: ${String(value)}`;
  } catch {
    message = 'Non-Error thrown';
  }
  const error = new Error(message, { cause: value });
  redactErrorValues(error);
  return error;
}
