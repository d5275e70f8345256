import { InvalidPayloadError } from './errors/invalid-payload-error';
import { readRequestText } from './read-request-text';

/** The most bytes of body a route that takes none reads: enough for `{}` and some space. */
const maxEmptyBodyBytes = 1024;

/**
 * For a `POST` route that takes no body, or `{}`: refuses one that says anything (400), and one
 * over 1 KiB (413). Ignored, such a body reads as a request it is not: a manager's
 * `{ "userId": … }` started the manager's own dialer run, a `{ "callId": … }` ended the call in the
 * path. `where` says where the route takes what a body would name (its path, the credentials).
 * @internal
 */
export async function refuseBodyFields(
  request: Request,
  route: string,
  where: string,
): Promise<void> {
  const text = await readRequestText(request, { maxBytes: maxEmptyBodyBytes });
  if (text.trim() === '') return;
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch (error) {
    throw new InvalidPayloadError({ message: 'The body is not valid JSON.', cause: error });
  }
  if (body === null || typeof body !== 'object' || Array.isArray(body)) {
    throw new InvalidPayloadError({ message: `${route} takes no body, or {}.` });
  }
  const [field] = Object.keys(body);
  if (field !== undefined) {
    throw new InvalidPayloadError({
      message: `${JSON.stringify(field.slice(0, 64))} is not a field of ${route}: it takes no body, or {}; ${where}.`,
    });
  }
}
