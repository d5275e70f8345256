import { isIP } from 'node:net';
import { Agent, buildConnector, type Dispatcher } from 'undici';
import { createAddressGuard } from './create-address-guard';
import { blockedError, createGuardedLookup, type ResolveHost } from './create-guarded-lookup';
import { AddressBlockedError } from './errors/address-blocked-error';

/** Options of {@link createWebhookSender}. */
export interface WebhookSenderOptions {
  /** Whole-request timeout (connect, send, response headers and the kept part of the body). Default 15,000 ms. */
  timeoutMs?: number;
  /** Ranges deliveries may reach although they are private or special (`127.0.0.1/32`, `10.2.0.0/16`). */
  allowedCidrs?: readonly string[];
  /** Most bytes of a response body kept for the log (the rest is not read). Default 2,048. */
  maxResponseBodyBytes?: number;
  /** The `user-agent` header. */
  userAgent?: string;
  /** Resolves host names; default `dns.lookup`. For custom resolvers (and fault-injection tests). */
  resolveHost?: ResolveHost;
}

/** One HTTP POST of a delivery. */
export interface WebhookRequest {
  url: string;
  headers: Record<string, string>;
  body: string;
}

/** What came of a {@link WebhookRequest}. */
export type WebhookSendResult =
  | {
      kind: 'response';
      statusCode: number;
      /** The `retry-after` header, if any. */
      retryAfter: string | undefined;
      /** The first `maxResponseBodyBytes` bytes of the body, as text. */
      body: string;
      durationMs: number;
    }
  | {
      kind: 'error';
      /**
       * `timeout`, `blocked` (the SSRF guard refused the address), `network` (refused, reset,
       * DNS…), or `unsendable_header` (not sent: an endpoint's header value no request can carry,
       * saved by an earlier version; never retried).
       */
      reason: 'timeout' | 'blocked' | 'network' | 'unsendable_header';
      message: string;
      durationMs: number;
    };

/** Sends deliveries over undici, with the SSRF guard at connect time. */
export interface WebhookSender {
  send(webhookRequest: WebhookRequest): Promise<WebhookSendResult>;
  /** Closes the connection pool. */
  close(): Promise<void>;
}

const utf8 = new TextDecoder();

/**
 * Creates the HTTP client deliveries go through: an undici `Agent` whose connector checks every
 * address (an IP in the URL, or each address a name resolves to, on every new connection)
 * against the SSRF guard. Redirects are not followed (a 3xx is a failed attempt); proxies from the
 * environment are not used.
 */
export function createWebhookSender(options: WebhookSenderOptions = {}): WebhookSender {
  const timeoutMs = options.timeoutMs ?? 15_000;
  const maxBody = options.maxResponseBodyBytes ?? 2048;
  const guard = createAddressGuard(options.allowedCidrs);
  const connector = buildConnector({
    lookup: createGuardedLookup(guard, options.resolveHost),
    timeout: timeoutMs,
  });
  const agent = new Agent({
    connect: (connectOptions, callback) => {
      // net.connect skips `lookup` for an IP literal: check it here.
      const host = connectOptions.hostname.replace(/^\[|\]$/g, '');
      if (isIP(host) !== 0) {
        const range = guard(host);
        if (range !== undefined) {
          callback(blockedError(host, range), null);
          return;
        }
      }
      connector(connectOptions, callback);
    },
    keepAliveTimeout: 4_000,
  });

  // Targets parsed once per URL (endpoints are few; the cache is bounded all the same).
  const targets = new Map<string, { origin: string; path: string }>();
  const targetOf = (url: string): { origin: string; path: string } => {
    let target = targets.get(url);
    if (!target) {
      const parsed = new URL(url);
      target = { origin: parsed.origin, path: `${parsed.pathname}${parsed.search}` };
      if (targets.size >= 1000) targets.delete(targets.keys().next().value!);
      targets.set(url, target);
    }
    return target;
  };

  // `agent.dispatch` with a handler of our own rather than `request()`: no response stream, no
  // AbortSignal per request (the timer aborts through the handler's controller). A delivery is
  // one small POST whose answer we mostly discard, so this is most of the client's cost.
  const send = ({ url, headers, body }: WebhookRequest): Promise<WebhookSendResult> =>
    new Promise((resolve) => {
      const started = performance.now();
      let settled = false;
      let timedOut = false;
      let controller: Dispatcher.DispatchController | undefined;
      let statusCode = 0;
      let retryAfter: string | undefined;
      let chunks: Uint8Array[] | undefined;
      let kept = 0;
      const finish = (result: WebhookSendResult): void => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        resolve(result);
      };
      const respond = (): void =>
        finish({
          kind: 'response',
          statusCode,
          retryAfter,
          body: chunks === undefined ? '' : utf8.decode(Buffer.concat(chunks)),
          durationMs: Math.round(performance.now() - started),
        });
      const timer = setTimeout(() => {
        timedOut = true;
        finish({
          kind: 'error',
          reason: 'timeout',
          message: `No complete answer within ${timeoutMs} ms.`,
          durationMs: Math.round(performance.now() - started),
        });
        controller?.abort(new Error('timeout'));
      }, timeoutMs);
      let target: { origin: string; path: string };
      try {
        target = targetOf(url);
      } catch (error) {
        finish({
          kind: 'error',
          reason: 'network',
          message: describe(error),
          durationMs: Math.round(performance.now() - started),
        });
        return;
      }
      const handler: Dispatcher.DispatchHandler = {
        onRequestStart(requestController) {
          controller = requestController;
          // Timed out while connecting: drop the request now that it can be dropped.
          if (timedOut) requestController.abort(new Error('timeout'));
        },
        onResponseStart(_controller, code, responseHeaders) {
          if (code < 200) return; // 1xx: the answer is still to come
          statusCode = code;
          const value = responseHeaders['retry-after'];
          retryAfter = Array.isArray(value) ? value[0] : value;
        },
        onResponseData(responseController, chunk) {
          if (settled) return;
          const room = maxBody - kept;
          if (room > 0) {
            const part = chunk.byteLength > room ? chunk.subarray(0, room) : chunk;
            chunks ??= [];
            chunks.push(part);
            kept += part.byteLength;
          }
          if (kept >= maxBody) {
            // The rest is not kept: drop the connection instead of reading it.
            respond();
            responseController.abort(new Error('response body not kept'));
          }
        },
        onResponseEnd() {
          respond();
        },
        onResponseError(_controller, error) {
          if (settled) return;
          const durationMs = Math.round(performance.now() - started);
          const blocked = findBlocked(error);
          finish(
            blocked
              ? { kind: 'error', reason: 'blocked', message: blocked.message, durationMs }
              : { kind: 'error', reason: 'network', message: describe(error), durationMs },
          );
        },
      };
      agent.dispatch(
        {
          origin: target.origin,
          path: target.path,
          method: 'POST',
          headers: {
            ...headers,
            'content-type': 'application/json',
            ...(options.userAgent ? { 'user-agent': options.userAgent } : {}),
          },
          body,
        },
        handler,
      );
    });

  return { send, close: () => agent.close() };
}

function findBlocked(error: unknown): AddressBlockedError | undefined {
  let current: unknown = error;
  for (let depth = 0; depth < 5 && current != null; depth += 1) {
    if (AddressBlockedError.isInstance(current)) return current;
    current = (current as { cause?: unknown }).cause;
  }
  return undefined;
}

function describe(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const code = (error as { code?: string }).code;
  const cause = error.cause instanceof Error ? `: ${error.cause.message}` : '';
  return `${code ? `${code} ` : ''}${error.message}${cause}`.slice(0, 500);
}
