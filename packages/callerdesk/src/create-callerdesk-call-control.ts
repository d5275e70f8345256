import {
  type CallControl,
  InvalidArgumentError,
  type PlaceCallRequest,
  type PlacedCall,
  UnsupportedOperationError,
} from '@calltrack/core';
import type { CallerDeskClient } from './create-callerdesk-client';

/** Options of {@link createCallerDeskCallControl}. */
export interface CreateCallerDeskCallControlOptions {
  /** The client calls are placed with (`createCallerDeskClient`). */
  client: CallerDeskClient;
  /**
   * The virtual number (DID / deskphone) calls go out from when a request names none in `from`;
   * without either, the client's own `deskphone` is used.
   */
  deskphone?: string;
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
 * then the customer (`to`), from the virtual number (`from`, or the adapter's `deskphone`). The
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
  const { client } = options;

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
      const deskphone = request.from ?? options.deskphone;
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
