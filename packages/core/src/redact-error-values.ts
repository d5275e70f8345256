/** What is left of the Redis command on a reported error: its name, never its arguments. */
export interface RedactedRedisCommand {
  /** The command, as ioredis names it (`evalsha`, `hset`…). */
  name: string;
  /** How many arguments it had: keys and values alike, none of them kept. */
  argumentCount: number;
}

/** Bounds the walk: an error graph is small, a hostile one must not stall a report. */
const maxErrorsVisited = 100;

/**
 * Takes the written values off `value` and every error it carries (its `cause` chain,
 * `AggregateError.errors`, ioredis's `previousErrors` and `lastNodeError`, any own property
 * holding errors), so a logger given the error prints no secret or personal data:
 *
 * - ioredis attaches the failed command with all its arguments to the error (`error.command =
 *   { name, args }`), and when Redis refuses a write (out of memory, `READONLY` during a
 *   failover, `MISCONF`) those are what was written: a webhook secret, a custom header value, a
 *   message body, a lead's phone number. The command keeps its name and its argument count.
 * - PostgreSQL writes the row into a constraint violation's `detail` (`Key (lead_id)=(…)`,
 *   `Failing row contains (…)`, the row of the app's own lead table); pg hands it on as the
 *   error's `detail`. The column names are kept, the values replaced by `…`.
 * - PostgreSQL's data errors (class 22: a value its type cannot read or hold) quote the value in
 *   the message itself (`invalid input syntax for type uuid: "…"`, `value "…" is out of range
 *   for type integer`), the `detail` (a JSON token) and the `where` (`JSON data, line 1: …`, a
 *   bound parameter's value where the server logs them). The quoted values become `…`, the rest
 *   of the message stays, and the stack's copy of the message changes with it.
 *
 * In place, so the error keeps its class, stack and identity (`isInstance`, a caller comparing
 * it); its message changes only for a class-22 PostgreSQL error. Redis's refusals and
 * PostgreSQL's other errors do not quote written values in their messages.
 */
export function redactErrorValues(value: unknown): void {
  const seen = new Set<object>();
  const visit = (candidate: unknown): void => {
    if (Array.isArray(candidate)) {
      for (const item of candidate) if (isError(item)) visit(item);
      return;
    }
    if (!isError(candidate) || seen.has(candidate) || seen.size >= maxErrorsVisited) return;
    seen.add(candidate);
    redactCommand(candidate);
    redactPostgresDetail(candidate);
    // Own data properties only (`cause` and `errors` are not enumerable): a getter is not run.
    for (const key of Object.getOwnPropertyNames(candidate)) {
      const property = Object.getOwnPropertyDescriptor(candidate, key)?.value;
      if (isError(property) || Array.isArray(property)) visit(property);
    }
  };
  try {
    visit(value);
  } catch {
    // A hostile value (a revoked Proxy) cannot be walked; reporting it must not fail for that.
  }
}

/** An `Error`, from this realm or another (a `vm` context, a worker's structured clone). */
function isError(value: unknown): value is Error {
  return (
    value instanceof Error ||
    (typeof value === 'object' &&
      value !== null &&
      Object.prototype.toString.call(value) === '[object Error]')
  );
}

function redactCommand(error: Error): void {
  const command = Object.getOwnPropertyDescriptor(error, 'command')?.value as unknown;
  if (typeof command !== 'object' || command === null || !('args' in command)) return;
  const { name, args } = command as { name?: unknown; args?: unknown };
  const redacted: RedactedRedisCommand = {
    name: typeof name === 'string' ? name : 'unknown',
    argumentCount: Array.isArray(args) ? args.length : 0,
  };
  try {
    (error as { command?: unknown }).command = redacted;
  } catch {
    // A frozen error or a read-only `command`: nothing calltrack can change.
  }
}

/** `Key (a, b)=(1, 2) already exists.` → `Key (a, b)=(…) already exists.`, every phrasing. */
const keyValues =
  /\)=\(.*?\)(?= already exists| is not present| is still referenced| conflicts with|\.?$)/g;
const failingRow = /Failing row contains \(.*\)/g;

function redactPostgresDetail(error: Error): void {
  const own = (key: string): unknown => Object.getOwnPropertyDescriptor(error, key)?.value;
  const [severity, code] = [own('severity'), own('code')];
  // pg's DatabaseError: a severity and a five-character SQLSTATE code.
  if (typeof severity !== 'string' || typeof code !== 'string' || code.length !== 5) return;
  const dataError = code.startsWith('22');
  replaceOwn(error, 'detail', (detail) => {
    const redacted = detail
      .replace(keyValues, ')=(…)')
      .replace(failingRow, 'Failing row contains (…)');
    return dataError ? redactQuotedValues(redacted) : redacted;
  });
  if (!dataError) return;
  replaceOwn(error, 'where', (where) =>
    where.replace(jsonDataLine, '$1…').replace(boundParameter, "$1'…'"),
  );
  const message = own('message');
  const redacted = replaceOwn(error, 'message', redactDataErrorMessage);
  if (typeof message === 'string' && redacted !== undefined) {
    // The stack begins with the message as it was when the error was made.
    replaceOwn(error, 'stack', (stack) => stack.split(message).join(redacted));
  }
}

/** Replaces an own string property; answers the new value, or undefined when nothing changed. */
function replaceOwn(
  error: Error,
  key: string,
  redact: (value: string) => string,
): string | undefined {
  const value = Object.getOwnPropertyDescriptor(error, key)?.value;
  if (typeof value !== 'string') return undefined;
  const redacted = redact(value);
  if (redacted === value) return undefined;
  try {
    (error as unknown as Record<string, unknown>)[key] = redacted;
    return redacted;
  } catch {
    // Read-only: left as it is.
    return undefined;
  }
}

// PostgreSQL quotes a value as it was given, quotes inside it unescaped: a value's quotes are
// found from the message's known shapes, not by pairing them.
/** `…: "value"` closing the message: `invalid input syntax for type uuid: "…"`, most of class 22. */
const closingValue = /: ".*"$/s;
/** `value "…" is out of range for type integer` (22003). */
const valueOutOfRange = /^value ".*" is out of range/s;
/** `invalid value "…" for "MM"` (`to_date`, 22007): the field after it is the format's. */
const invalidValueFor = /^invalid value ".*" for "/s;
/** Any other quoted text: from the first quote to the last. */
const quoted = /".*"/s;
/** `JSON data, line 1: {"phone": "+1415…`: the document up to the error. */
const jsonDataLine = /^(JSON data, line \d+: ).*$/gm;
/** `unnamed portal parameter $1 = '+14155550100'`, where the server logs bound values. */
const boundParameter = /( parameter \$\d+ = )'.*'$/gm;

function redactDataErrorMessage(message: string): string {
  if (closingValue.test(message)) return message.replace(closingValue, ': "…"');
  if (valueOutOfRange.test(message))
    return message.replace(valueOutOfRange, 'value "…" is out of range');
  if (invalidValueFor.test(message))
    return message.replace(invalidValueFor, 'invalid value "…" for "');
  return redactQuotedValues(message);
}

function redactQuotedValues(text: string): string {
  return text.replace(quoted, '"…"');
}
