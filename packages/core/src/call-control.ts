/** What {@link CallControl.placeCall} dials. */
export interface PlaceCallRequest {
  /** The tenant the call belongs to: its webhooks must resolve to this tenant. */
  tenantId: string;
  /** The number called (the customer), E.164. */
  to: string;
  /** The number the call comes from; adapters fall back to the one they were configured with. */
  from?: string;
  /**
   * The agent's own number, for providers that ring the agent first and then bridge the customer
   * (CallerDesk click-to-call). Others ignore it.
   */
  agentNumber?: string;
  /**
   * Your id for this request (a dialer attempt, a click-to-call request id). Adapters pass it
   * where the provider echoes it back (CallerDesk `campid`, Retell metadata, a Twilio status
   * callback query), so the call can be linked to it even before the provider's call id is known.
   */
  reference?: string;
  /** Aborts the request to the provider. */
  signal?: AbortSignal;
}

/** What the provider answered to {@link CallControl.placeCall}. */
export interface PlacedCall {
  /** The provider, e.g. `twilio`. */
  provider: string;
  /**
   * The provider's call id, the one its webhooks carry. Undefined when the provider does not return
   * it at once (CallerDesk may not): then it arrives with the webhooks, linked by `reference`.
   */
  callId: string | undefined;
  /** The request's `reference`, echoed. */
  reference: string | undefined;
}

/**
 * Places and ends calls through one provider account: what click-to-call routes and the dialer
 * use, implemented by each provider package over its client.
 *
 * Failures are `ProviderApiError`s. One that is not `isRetryable` (a 4xx other than 408, 409 or
 * 429, or an answer that says it refused) is a definite refusal: the provider placed nothing. Any
 * other failure (a timeout, a lost connection, a 5xx, a 2xx whose answer could not be read) is
 * ambiguous: the call may have been placed, so reconcile through the webhooks before dialling
 * again.
 */
export interface CallControl {
  /** The provider this adapter speaks to, e.g. `twilio`. */
  readonly provider: string;
  /** Places an outbound call. */
  placeCall(request: PlaceCallRequest): Promise<PlacedCall>;
  /**
   * Ends a call. Ending a call that has already ended is not an error. Providers that cannot end
   * calls through their API (CallerDesk) reject with a `CallTrackError` whose status is 501.
   */
  terminateCall(callId: string, options?: { signal?: AbortSignal }): Promise<void>;
}
