/**
 * The parameters of a Twilio webhook as they arrive in a form-encoded body: a record whose
 * values are strings (or arrays of strings for a repeated key), or the `URLSearchParams` the body
 * parses into. Both keep every value of a repeated key, which the signature covers.
 */
export type TwilioParams =
  | URLSearchParams
  | Readonly<Record<string, string | readonly string[] | undefined>>;
