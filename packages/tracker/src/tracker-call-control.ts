import { type CallControl, InvalidArgumentError, type Principal } from '@calltrack/core';

/** What a call-control route is about to do, for a {@link TrackerCallControl} function. */
export interface CallControlContext {
  /** The tenant whose call it is: the principal's own when placing; the call's when ending. */
  tenantId: string;
  /** `place` (`POST /calls`) or `terminate` (`POST /calls/:callId/terminate`). */
  operation: 'place' | 'terminate';
}

/**
 * The `CallControl` adapters the call-control routes use, by provider: a record
 * (`{ twilio: createTwilioCallControl(…), retell: … }`), or a function of the principal, the
 * provider and the operation's tenant returning the adapter (or a promise of it), for apps with
 * provider accounts per tenant. No adapter for a provider: the route answers 501.
 */
export type TrackerCallControl =
  | Readonly<Record<string, CallControl>>
  | ((
      principal: Principal,
      provider: string,
      context: CallControlContext,
    ) => CallControl | undefined | Promise<CallControl | undefined>);

/** Checks the option when the handler is created; throws `InvalidArgumentError`. @internal */
export function checkTrackerCallControl(option: unknown): void {
  if (option === undefined || typeof option === 'function') return;
  if (option === null || typeof option !== 'object' || Array.isArray(option)) {
    throw new InvalidArgumentError({
      message:
        'createTrackerHandler: callControl must be a record of CallControl adapters or a function.',
    });
  }
  for (const [provider, control] of Object.entries(option)) {
    const candidate = control as Partial<CallControl> | null;
    if (
      candidate == null ||
      typeof candidate.placeCall !== 'function' ||
      typeof candidate.terminateCall !== 'function'
    ) {
      throw new InvalidArgumentError({
        message: `createTrackerHandler: callControl.${provider} is not a CallControl (placeCall, terminateCall).`,
      });
    }
  }
}

/** The adapter for `provider`, or undefined. @internal */
export async function resolveCallControl(
  option: TrackerCallControl,
  principal: Principal,
  provider: string,
  context: CallControlContext,
): Promise<CallControl | undefined> {
  if (typeof option === 'function')
    return (await option(principal, provider, context)) ?? undefined;
  return Object.hasOwn(option, provider) ? option[provider] : undefined;
}
