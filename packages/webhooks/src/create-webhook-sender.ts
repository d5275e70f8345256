import { isIP } from 'node:net';
import { Agent, buildConnector, request } from 'undici';
import { createAddressGuard } from './create-address-guard';
import { blockedError, createGuardedLookup, type ResolveHost } from './create-guarded-lookup';
import { AddressBlockedError } from './errors/address-blocked-error';

/** Options of {@link createWebhookSender}. */
export interface WebhookSenderOptions {
  /** Whole-request timeout (connect, send, response headers and the kept part of the body). Default 15,000 ms. */
  timeoutMs?: number;
  /** Ranges deliveries may reach although they are private or special (`127.0.0.1/32`, `10.2.0.0/16`). */
  allowedCidrs?: readonly string[];
  /** Most bytes of a response body kept for the log. Default 20,000 (as Svix). */
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
      /** `timeout`, `blocked` (the SSRF guard refused the address), or `network` (refused, reset, DNS…). */
      reason: 'timeout' | 'blocked' | 'network';
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
  const maxBody = options.maxResponseBodyBytes ?? 20_000;
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
          callback(blockedError(host, host, range), null);
          return;
        }
      }
      connector(connectOptions, callback);
    },
    keepAliveTimeout: 4_000,
  });

  const send = async ({ url, headers, body }: WebhookRequest): Promise<WebhookSendResult> => {
    const started = performance.now();
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(), timeoutMs);
    try {
      const response = await request(url, {
        method: 'POST',
        headers: {
          ...headers,
          'content-type': 'application/json',
          ...(options.userAgent ? { 'user-agent': options.userAgent } : {}),
        },
        body,
        dispatcher: agent,
        signal: controller.signal,
      });
      const chunks: Uint8Array[] = [];
      let kept = 0;
      if (response.statusCode === 204 || response.headers['content-length'] === '0') {
        await response.body.dump();
      } else {
        for await (const chunk of response.body as AsyncIterable<Uint8Array>) {
          const room = maxBody - kept;
          if (room > 0) {
            const part = chunk.byteLength > room ? chunk.subarray(0, room) : chunk;
            chunks.push(part);
            kept += part.byteLength;
          }
          if (kept >= maxBody) {
            // The rest is not kept: drop the connection instead of reading it.
            response.body.destroy();
            break;
          }
        }
      }
      const retryAfter = response.headers['retry-after'];
      return {
        kind: 'response',
        statusCode: response.statusCode,
        retryAfter: Array.isArray(retryAfter) ? retryAfter[0] : retryAfter,
        body: chunks.length === 0 ? '' : utf8.decode(Buffer.concat(chunks)),
        durationMs: Math.round(performance.now() - started),
      };
    } catch (error) {
      const durationMs = Math.round(performance.now() - started);
      const blocked = findBlocked(error);
      if (blocked)
        return { kind: 'error', reason: 'blocked', message: blocked.message, durationMs };
      if (controller.signal.aborted) {
        return {
          kind: 'error',
          reason: 'timeout',
          message: `No complete answer within ${timeoutMs} ms.`,
          durationMs,
        };
      }
      return { kind: 'error', reason: 'network', message: describe(error), durationMs };
    } finally {
      clearTimeout(timer);
    }
  };

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
