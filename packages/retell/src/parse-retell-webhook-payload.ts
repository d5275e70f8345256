import { InvalidPayloadError } from '@calltrack/core';
import type { z } from 'zod';
import { checkRetellPayloadLimits } from './retell-payload-limits';
import {
  type RetellWebhookPayload,
  retellCallEventNames,
  retellCallSchema,
  retellWebhookPayloadSchema,
} from './retell-webhook-payload-schema';

const callEventNames = new Set<string>(retellCallEventNames);

/**
 * Validates a Retell webhook body (the parsed JSON object, or its text) and returns it typed.
 * Throws {@link InvalidPayloadError} naming the offending field, e.g.
 * `Invalid Retell webhook: "call.call_id" is required`, and any field nested deeper than 16
 * levels (or, for `metadata`, the dynamic variables, `call_analysis` and `custom_sip_headers`,
 * longer than 256 KiB as JSON), e.g. `"call.metadata" is nested deeper than 16 levels`. Events
 * other than the voice call events (chat events, future events) validate with `call: undefined`.
 */
export function parseRetellWebhookPayload(value: unknown): RetellWebhookPayload {
  let input = value;
  if (typeof input === 'string') {
    try {
      input = JSON.parse(input);
    } catch (error) {
      throw new InvalidPayloadError({
        message: 'Invalid Retell webhook: the body is not valid JSON.',
        cause: error,
      });
    }
  }
  const envelope = retellWebhookPayloadSchema.safeParse(input);
  if (!envelope.success) throw toInvalidPayloadError(envelope.error, []);
  const body = envelope.data as Record<string, unknown>;
  checkRetellPayloadLimits(body);
  const { event } = envelope.data;
  if (!callEventNames.has(event)) return { event, call: undefined, body };
  // `data` is the deprecated name of `call`.
  const key =
    envelope.data.call === undefined && envelope.data.data !== undefined ? 'data' : 'call';
  const call = retellCallSchema.safeParse(envelope.data[key]);
  if (!call.success) throw toInvalidPayloadError(call.error, [key]);
  return { event, call: call.data, body };
}

function toInvalidPayloadError(error: z.ZodError, prefix: readonly string[]): InvalidPayloadError {
  const issue = error.issues[0];
  const field = [...prefix, ...(issue?.path ?? []).map(String)].join('.');
  if (field === '') {
    return new InvalidPayloadError({
      message: 'Invalid Retell webhook: the body must be a JSON object.',
      cause: error,
    });
  }
  const missing = issue?.code === 'invalid_type' && /received undefined/.test(issue.message);
  const problem = missing ? 'is required' : `is invalid (${issue?.message ?? 'unknown problem'})`;
  return new InvalidPayloadError({
    message: `Invalid Retell webhook: "${field}" ${problem}.`,
    cause: error,
  });
}
