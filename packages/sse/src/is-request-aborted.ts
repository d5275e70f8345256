/** `Request.prototype`'s own `signal` getter, where the runtime defines one (all of them do). */
const runtimeSignal = Object.getOwnPropertyDescriptor(Request.prototype, 'signal')?.get;

/**
 * True when the request's client is already gone (its `signal` has aborted), read from the
 * runtime's own signal of the request. calltrack's Node bridge overrides `signal` and builds it
 * on first access, which would cost an `AbortController` and a listener for as long as the
 * stream lives; there the runtime's signal never aborts, and the bridge checks the socket itself
 * when it takes the stream. A request of another implementation (undici's own `Request`, a
 * framework's lazy request) has no runtime signal to read: its own `signal` is read instead.
 */
export function isRequestAborted(request: Request): boolean {
  let signal: AbortSignal | undefined;
  try {
    signal = runtimeSignal?.call(request) as AbortSignal | undefined;
  } catch {
    // "Illegal invocation": not the runtime's own Request.
  }
  return (signal ?? request.signal)?.aborted === true;
}
