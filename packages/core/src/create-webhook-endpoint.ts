import { BufferedResponse } from './buffered-response';
import { clientAddressBudgetKey } from './client-address-budget-key';
import { AddressNotAllowedError } from './errors/address-not-allowed-error';
import { MethodNotAllowedError } from './errors/method-not-allowed-error';
import { RateLimitedError } from './errors/rate-limited-error';
import type { FetchHandlerContext } from './fetch-handler';
import {
  type IncomingWebhook,
  type IncomingWebhookAnswer,
  incomingWebhookOf,
  withIncomingWebhookHandler,
} from './incoming-webhook';
import { type AllowClientAddress, isAllowedClientAddress } from './is-allowed-client-address';
import { toError } from './to-error';
import { toErrorAnswer, toErrorResponse } from './to-error-response';
import type { WebhookRateLimit, WebhookRateLimiter } from './webhook-rate-limit';

/**
 * Reports the errors of a webhook handler, for the app's logs: every error that ends a request
 * (4xx and 5xx; a `CallTrackError` carries its `status` and `code`), and a rate limiter that
 * failed (the request then went on). A thrown value that is not an `Error` arrives wrapped in one
 * (its `cause`). Errors it throws are ignored.
 */
export type WebhookErrorHandler = (error: Error, request: Request) => void;

/** Options of {@link createWebhookEndpoint}: what every provider handler takes alike. */
export interface WebhookEndpointOptions {
  /** The provider's name for messages, e.g. `Retell`. */
  provider: string;
  /** The methods the provider uses; anything else answers 405 with `Allow`. */
  methods: readonly string[];
  /** Client addresses accepted (403 otherwise). */
  allowIp?: AllowClientAddress | undefined;
  /** Request budgets (429 once spent). */
  rateLimit?: WebhookRateLimit | undefined;
  /** Where errors are reported. */
  onError?: WebhookErrorHandler | undefined;
}

/** What the provider-specific part of a handler gets from {@link createWebhookEndpoint}. */
export interface WebhookEndpointContext {
  /** The client address the runtime reported, if any. */
  clientAddress: string | undefined;
  /**
   * Takes one request from the tenant's budget (`rateLimit.perTenant`); throws
   * `RateLimitedError` (429) once it is spent. Call it after the request is authenticated.
   */
  limitTenant(tenantId: string): Promise<void>;
}

/** A provider webhook handler: a fetch handler that never throws. */
export type WebhookHandler = (request: Request, context?: FetchHandlerContext) => Promise<Response>;

/**
 * The part every provider webhook handler shares, around the provider-specific `handle`: the
 * method (405 with `Allow`), the client address (`allowIp`, 403 `address_not_allowed`), the
 * per-address budget (429 with `Retry-After`), all before the body is read; then `handle`, whose
 * errors become JSON answers (`toErrorResponse`) after being reported to `onError`. The result
 * never throws.
 */
export function createWebhookEndpoint(
  options: WebhookEndpointOptions,
  handle: (request: Request, endpoint: WebhookEndpointContext) => Promise<Response>,
): WebhookHandler {
  const run = endpointRunner(options);
  const respond = (incoming: IncomingWebhook, endpoint: WebhookEndpointContext) =>
    handle(incoming.request, endpoint);
  return (request, context) =>
    run(incomingWebhookOf(request, context), respond, asIs, toErrorResponse);
}

function asIs<Value>(value: Value): Value {
  return value;
}

/**
 * {@link createWebhookEndpoint} for a provider `handle` written against an `IncomingWebhook`,
 * which answers 200 with the JSON of what it returns. The result is a fetch handler like any
 * other; behind `toNodeHandler` the very same code runs straight on Node's request, without
 * building a `Request` or a `Response` (one is built only when an app callback asks for the
 * request).
 * @internal
 */
export function createIncomingWebhookEndpoint(
  options: WebhookEndpointOptions,
  handle: (incoming: IncomingWebhook, endpoint: WebhookEndpointContext) => Promise<unknown>,
): WebhookHandler {
  const run = endpointRunner(options);
  const answer = (incoming: IncomingWebhook): Promise<IncomingWebhookAnswer> =>
    run(incoming, handle, jsonAnswer, toErrorAnswer);
  const fetchHandler: WebhookHandler = async (request, context) => {
    const { text, status, headers } = await answer(incomingWebhookOf(request, context));
    return new BufferedResponse(text, status, headers);
  };
  return withIncomingWebhookHandler(fetchHandler, answer);
}

function jsonAnswer(data: unknown): IncomingWebhookAnswer {
  return {
    status: 200,
    headers: { 'content-type': 'application/json' },
    text: JSON.stringify(data),
  };
}

/** Runs the shared checks, then `handle`, and answers with `answerOf` its result or `errorAnswer`. */
type EndpointRunner = <Result, Answer>(
  incoming: IncomingWebhook,
  handle: (incoming: IncomingWebhook, endpoint: WebhookEndpointContext) => Promise<Result>,
  answerOf: (result: Result) => Answer,
  errorAnswer: (error: unknown) => Answer,
) => Promise<Answer>;

function endpointRunner(options: WebhookEndpointOptions): EndpointRunner {
  const { provider, methods, allowIp, rateLimit, onError } = options;
  const perClientAddress = rateLimit?.perClientAddress;
  const perTenant = rateLimit?.perTenant;
  const methodList = methods.join(' or ');
  return async (incoming, handle, answerOf, errorAnswer) => {
    try {
      if (!methods.includes(incoming.method)) {
        throw new MethodNotAllowedError({
          message: `${provider} webhooks are ${methodList} requests.`,
          allow: methods,
        });
      }
      const clientAddress = incoming.clientAddress;
      if (
        allowIp !== undefined &&
        !(await isAllowedClientAddress(allowIp, clientAddress, () => incoming.request))
      ) {
        throw new AddressNotAllowedError({
          message: `The client address is not allowed to send ${provider} webhooks.`,
        });
      }
      if (perClientAddress !== undefined && clientAddress !== undefined) {
        await consume(
          perClientAddress,
          clientAddressBudgetKey(clientAddress),
          incoming,
          onError,
          'Too many webhook requests from this client address.',
        );
      }
      return answerOf(
        await handle(incoming, new EndpointContext(clientAddress, incoming, perTenant, onError)),
      );
    } catch (error) {
      report(onError, error, incoming);
      return errorAnswer(error);
    }
  };
}

/** What `limitTenant` answers without a per-tenant limiter: nothing to wait for. */
const noTenantLimit: Promise<void> = Promise.resolve();

/**
 * The {@link WebhookEndpointContext} of one request. A class, not an object literal with an
 * arrow function: one is made for every webhook, and the method is shared.
 */
class EndpointContext implements WebhookEndpointContext {
  readonly clientAddress: string | undefined;
  readonly #incoming: IncomingWebhook;
  readonly #perTenant: WebhookRateLimiter | undefined;
  readonly #onError: WebhookErrorHandler | undefined;

  constructor(
    clientAddress: string | undefined,
    incoming: IncomingWebhook,
    perTenant: WebhookRateLimiter | undefined,
    onError: WebhookErrorHandler | undefined,
  ) {
    this.clientAddress = clientAddress;
    this.#incoming = incoming;
    this.#perTenant = perTenant;
    this.#onError = onError;
  }

  limitTenant(tenantId: string): Promise<void> {
    if (this.#perTenant === undefined) return noTenantLimit;
    return consume(
      this.#perTenant,
      `tenant:${tenantId}`,
      this.#incoming,
      this.#onError,
      'Too many webhook requests for this tenant.',
    );
  }
}

async function consume(
  limiter: WebhookRateLimiter,
  key: string,
  incoming: IncomingWebhook,
  onError: WebhookErrorHandler | undefined,
  message: string,
): Promise<void> {
  try {
    await limiter.consume(key, 1);
  } catch (rejection) {
    const msBeforeNext = budgetSpent(rejection);
    if (msBeforeNext === undefined) {
      // The limiter's store failed: let the webhook through rather than lose it.
      report(onError, rejection, incoming);
      return;
    }
    throw new RateLimitedError({ message, retryAfterSeconds: msBeforeNext / 1000 });
  }
}

/** `msBeforeNext` of a "budget spent" rejection (rate-limiter-flexible's `RateLimiterRes`). */
function budgetSpent(rejection: unknown): number | undefined {
  if (rejection instanceof Error || rejection === null || typeof rejection !== 'object') {
    return undefined;
  }
  const msBeforeNext = (rejection as { msBeforeNext?: unknown }).msBeforeNext;
  return typeof msBeforeNext === 'number' && Number.isFinite(msBeforeNext)
    ? Math.max(0, msBeforeNext)
    : undefined;
}

function report(
  onError: WebhookErrorHandler | undefined,
  error: unknown,
  incoming: IncomingWebhook,
): void {
  if (onError === undefined) return;
  try {
    onError(toError(error), incoming.request);
  } catch {
    // A failing logger must not turn a clean answer into a crash.
  }
}
