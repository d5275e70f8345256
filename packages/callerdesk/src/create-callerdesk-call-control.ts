import {
  type CallControl,
  InvalidArgumentError,
  type PlaceCallRequest,
  type PlacedCall,
  UnsupportedOperationError,
} from '@calltrack/core';
import type { CallerDeskClient } from './create-callerdesk-client';
import { normalizeCallerDeskPhoneNumber } from './normalize-callerdesk-phone-number';

/** Options of {@link createCallerDeskCallControl}. */
export interface CreateCallerDeskCallControlOptions {
  /** The client calls are placed with (`createCallerDeskClient`). */
  client: CallerDeskClient;
  /**
   * The virtual number (DID / deskphone) calls go out from when a request names none in its own
   * `from`; without either, the client's own `deskphone` is used. The same option as the Twilio
   * and Retell adapters' `from`.
   */
  from?: string;
  /**
   * Whose virtual number this is: the tenant id, or null/undefined for none. CallerDesk's
   * webhooks find their tenant by the virtual number, so give the lookup your webhook handler's
   * `resolveTenant` uses on `number` (it gets the number in E.164, as `number` is). With it, a
   * call goes out only from a number of the request's tenant (the request's `from`, or the
   * adapter's): another tenant's is refused before anything is sent (`InvalidArgumentError`,
   * 400), since its call would be tracked as that tenant's. Without it, calls go out only from
   * the adapter's own number: a request's `from` other than the adapter's `from` is refused.
   */
  tenantOfNumber?: (
    number: string,
  ) => string | null | undefined | Promise<string | null | undefined>;
  /** The DID shown to both parties (`callerid`). */
  callerId?: string;
  /** Maximum call length (`CallLimit`), as CallerDesk's API defines it. */
  callLimit?: number;
}

/**
 * Core's `CallControl` over a {@link CallerDeskClient}: what the tracker's call-control routes and
 * the dialer place CallerDesk calls with.
 *
 * `placeCall` is a click-to-call: CallerDesk rings the agent first (`agentNumber`, required) and
 * then the customer (`to`), from the virtual number (the request's `from`, or the adapter's), which
 * must be the request's tenant's (see `tenantOfNumber`): CallerDesk's webhooks find their tenant
 * by that number. The
 * request's `reference` travels as `campid`, which CallerDesk echoes in the call's webhooks
 * (`data.campaignId` on the events), because CallerDesk may answer without a call id: then
 * `callId` is undefined and the call links to the reference. `terminateCall` rejects with an
 * `UnsupportedOperationError` (501): CallerDesk's API has no way to end a call.
 *
 * Failures are `ProviderApiError`s. CallerDesk answers refusals with HTTP 200 and
 * `{"type":"error"}`: those are definite refusals; a network failure or a 5xx is ambiguous.
 */
export function createCallerDeskCallControl(
  options: CreateCallerDeskCallControlOptions,
): CallControl {
  if (
    options == null ||
    options.client == null ||
    typeof options.client.clickToCall !== 'function'
  ) {
    throw new InvalidArgumentError({
      message: 'createCallerDeskCallControl needs { client } from createCallerDeskClient.',
    });
  }
  const { client, tenantOfNumber } = options;
  if (tenantOfNumber !== undefined && typeof tenantOfNumber !== 'function') {
    throw new InvalidArgumentError({
      message: 'createCallerDeskCallControl: tenantOfNumber must be a function.',
    });
  }

  /** The virtual number a request may go out from: one of its tenant's. */
  const checkDeskphone = async (request: PlaceCallRequest): Promise<string | undefined> => {
    const deskphone = request.from ?? options.from;
    const field = request.from === undefined ? 'the adapter’s `from`' : 'the request’s "from"';
    if (tenantOfNumber === undefined) {
      if (request.from !== undefined && !sameNumber(request.from, options.from)) {
        throw new InvalidArgumentError({
          message:
            'placeCall: "from" must be the adapter’s `from`: give createCallerDeskCallControl a tenantOfNumber to let a request name one of its tenant’s virtual numbers.',
        });
      }
      return deskphone;
    }
    const number = normalizeCallerDeskPhoneNumber(deskphone);
    if (number === undefined) {
      throw new InvalidArgumentError({
        message: 'placeCall: name the virtual number ("from", on the request or the adapter).',
      });
    }
    if ((await tenantOfNumber(number)) !== request.tenantId) {
      throw new InvalidArgumentError({
        message: `placeCall: ${field} is not one of this tenant’s CallerDesk virtual numbers: its call would be tracked as another tenant’s.`,
      });
    }
    return deskphone;
  };

  return {
    provider: 'callerdesk',
    async placeCall(request: PlaceCallRequest): Promise<PlacedCall> {
      if (request == null || typeof request.tenantId !== 'string' || request.tenantId === '') {
        throw new InvalidArgumentError({ message: 'placeCall: "tenantId" is required.' });
      }
      if (typeof request.agentNumber !== 'string' || request.agentNumber.trim() === '') {
        throw new InvalidArgumentError({
          message: 'placeCall: CallerDesk rings the agent first: "agentNumber" is required.',
        });
      }
      const deskphone = await checkDeskphone(request);
      const result = await client.clickToCall({
        agentNumber: request.agentNumber,
        customerNumber: request.to,
        ...(deskphone === undefined ? {} : { deskphone }),
        ...(request.reference === undefined ? {} : { campaignId: request.reference }),
        ...(options.callerId === undefined ? {} : { callerId: options.callerId }),
        ...(options.callLimit === undefined ? {} : { callLimit: options.callLimit }),
        ...(request.signal === undefined ? {} : { signal: request.signal }),
      });
      return {
        provider: 'callerdesk',
        callId: result.callId,
        reference: request.reference ?? result.campaignId,
      };
    },
    terminateCall() {
      return Promise.reject(
        new UnsupportedOperationError({
          message: 'CallerDesk calls cannot be ended through its API: a party has to hang up.',
        }),
      );
    },
  };
}

/** The same phone number, however it is written (`08041234567`, `+91 80 4123 4567`). */
function sameNumber(a: string, b: string | undefined): boolean {
  const first = normalizeCallerDeskPhoneNumber(a);
  return first !== undefined && first === normalizeCallerDeskPhoneNumber(b);
}
