import { InvalidPayloadError, readRequestText } from '@calltrack/core';

/** The most bytes of body `POST /calls/:callId/terminate` reads: it takes none, or `{}`. */
const maxTerminateBodyBytes = 1024;

/**
 * Refuses a `POST /calls/:callId/terminate` body that says anything: no body and `{}` end the
 * call in the path. Ignored, a `{ "callId": … }` or `{ "tenantId": … }` ended the call in the
 * path, not the one the caller named; the call comes from the path and the tenant from the
 * credentials (or `?tenantId=`) only.
 */
export async function refuseTerminateBody(request: Request): Promise<void> {
  const text = await readRequestText(request, { maxBytes: maxTerminateBodyBytes });
  if (text.trim() === '') return;
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch (error) {
    throw new InvalidPayloadError({ message: 'The body is not valid JSON.', cause: error });
  }
  if (body === null || typeof body !== 'object' || Array.isArray(body)) {
    throw new InvalidPayloadError({
      message: 'POST /calls/:callId/terminate takes no body, or {}.',
    });
  }
  const [field] = Object.keys(body);
  if (field !== undefined) {
    throw new InvalidPayloadError({
      message: `${JSON.stringify(field.slice(0, 64))} is not a field of POST /calls/:callId/terminate: it takes no body, or {}; the call is the one in the path, and the tenant comes from your credentials (or ?tenantId=).`,
    });
  }
}
