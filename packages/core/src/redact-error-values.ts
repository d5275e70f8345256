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
 *
 * In place, so the error keeps its class, message, stack and identity (`isInstance`, a caller
 * comparing it). The message is left as it is: Redis's refusals and PostgreSQL's constraint
 * violations do not quote the written values in it. PostgreSQL's data errors (class 22, a value
 * that does not fit its column's type) do (`value "…" is out of range for type integer`); the
 * dialer checks values against their columns before it writes (`fitsPostgresType`), and the
 * tracker's logger keeps only an error's name, message and code.
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
  const [detail, severity, code] = [own('detail'), own('severity'), own('code')];
  // pg's DatabaseError: a severity and a five-character SQLSTATE code beside the detail.
  if (typeof detail !== 'string' || typeof severity !== 'string') return;
  if (typeof code !== 'string' || code.length !== 5) return;
  const redacted = detail
    .replace(keyValues, ')=(…)')
    .replace(failingRow, 'Failing row contains (…)');
  if (redacted === detail) return;
  try {
    (error as { detail?: unknown }).detail = redacted;
  } catch {
    // Read-only: left as it is.
  }
}
