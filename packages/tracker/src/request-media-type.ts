/**
 * The request's media type (`content-type` without its parameters, lower case), or undefined
 * when it names none: what the call-control routes check before they read a body. @internal
 */
export function requestMediaType(request: Request): string | undefined {
  const contentType = request.headers.get('content-type');
  if (contentType === null) return undefined;
  return contentType.split(';')[0]!.trim().toLowerCase();
}
