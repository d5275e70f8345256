/**
 * The `Error` an `onError` hook is given for any thrown value: an `Error` as it is, anything else
 * (a string, a plain object a user's store threw) wrapped in one whose `cause` is the value, so
 * every calltrack `onError` can promise an `Error` with a `message`.
 */
export function toError(value: unknown): Error {
  if (value instanceof Error) return value;
  let message: string;
  try {
    message = typeof value === 'string' ? value : `Non-Error thrown: ${String(value)}`;
  } catch {
    message = 'Non-Error thrown';
  }
  return new Error(message, { cause: value });
}
