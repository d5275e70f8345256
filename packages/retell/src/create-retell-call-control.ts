import {
  type CallControl,
  InvalidArgumentError,
  type PlaceCallRequest,
  type PlacedCall,
} from '@calltrack/core';
import type { RetellClient } from './create-retell-client';

/** Options of {@link createRetellCallControl}. */
export interface CreateRetellCallControlOptions {
  /** The client calls are placed with (`createRetellClient`). */
  client: RetellClient;
  /** Your Retell number calls go out from when a request names none, E.164. */
  from?: string;
  /** The agent for every call, instead of the number's outbound agent (`override_agent_id`). */
  agentId?: string;
  /** The agent version for every call (`override_agent_version`). */
  agentVersion?: number;
  /**
   * More `metadata` for each call (echoed back in every webhook), merged under the two fields
   * the adapter sets itself: `tenantId` and, when the request has one, `reference`.
   */
  metadata?: Record<string, unknown> | ((request: PlaceCallRequest) => Record<string, unknown>);
  /** Values for the agent prompt's dynamic variables, per call. */
  dynamicVariables?: (request: PlaceCallRequest) => Record<string, string>;
}

/**
 * Core's `CallControl` over a {@link RetellClient}: what the tracker's call-control routes and the
 * dialer place and end Retell calls with.
 *
 * `placeCall` creates a phone call (`POST /v2/create-phone-call`) whose `metadata` carries
 * `tenantId` and the request's `reference`. Retell echoes `metadata` in every webhook of the call,
 * so the webhook handler's `resolveTenant` can read the tenant from it
 * (`({ metadata }) => ({ tenantId: metadata.tenantId })`, after checking it is one of yours), and
 * the call links to the reference before its id is known elsewhere. It resolves with Retell's
 * `call_id`. `terminateCall` stops the call (`POST /v2/stop-call/{call_id}`); its webhooks then
 * report `disconnection_reason: manual_stopped`.
 *
 * Failures are `ProviderApiError`s: a 4xx other than 408, 409 and 429 is a definite refusal
 * (nothing was placed); a network failure or a 5xx is ambiguous (Retell's API is not idempotent).
 */
export function createRetellCallControl(options: CreateRetellCallControlOptions): CallControl {
  if (options == null || options.client == null || typeof options.client.placeCall !== 'function') {
    throw new InvalidArgumentError({
      message: 'createRetellCallControl needs { client } from createRetellClient.',
    });
  }
  const { client } = options;

  return {
    provider: 'retell',
    async placeCall(request: PlaceCallRequest): Promise<PlacedCall> {
      if (request == null || typeof request.tenantId !== 'string' || request.tenantId === '') {
        throw new InvalidArgumentError({ message: 'placeCall: "tenantId" is required.' });
      }
      const from = request.from ?? options.from;
      if (from === undefined || from.trim() === '') {
        throw new InvalidArgumentError({
          message: 'placeCall: no "from" number: give one, or set `from` on the adapter.',
        });
      }
      const extra =
        typeof options.metadata === 'function' ? options.metadata(request) : options.metadata;
      const call = await client.placeCall({
        from,
        to: request.to,
        ...(options.agentId === undefined ? {} : { agentId: options.agentId }),
        ...(options.agentVersion === undefined ? {} : { agentVersion: options.agentVersion }),
        metadata: {
          ...extra,
          tenantId: request.tenantId,
          ...(request.reference === undefined ? {} : { reference: request.reference }),
        },
        ...(options.dynamicVariables === undefined
          ? {}
          : { dynamicVariables: options.dynamicVariables(request) }),
        ...(request.signal === undefined ? {} : { signal: request.signal }),
      });
      return { provider: 'retell', callId: call.callId, reference: request.reference };
    },
    async terminateCall(callId, terminateOptions) {
      await client.endCall(
        callId,
        terminateOptions?.signal === undefined ? {} : { signal: terminateOptions.signal },
      );
    },
  };
}
