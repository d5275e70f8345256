/** One secret, or several while it is being rotated. */
export type Secrets = string | readonly string[];

/** What a per-tenant secret lookup answers, sync or async: the secret(s), or nothing (answered 403). */
export type SecretLookupResult = Secrets | null | undefined | Promise<Secrets | null | undefined>;

/**
 * True when `check` passes for one of the configured secrets: a single string, or several while a
 * secret is being rotated (old and new both verify until the old one is removed). Empty strings
 * and anything that is not a string never pass, so a missing secret can never match.
 */
export function someSecret(
  secrets: Secrets | null | undefined,
  check: (secret: string) => boolean,
): boolean {
  if (typeof secrets === 'string') return secrets !== '' && check(secrets);
  if (!Array.isArray(secrets)) return false;
  let matched = false;
  // Check every secret, not just up to the first match: which one matched must not show in timing.
  for (const secret of secrets as readonly unknown[]) {
    if (typeof secret === 'string' && secret !== '' && check(secret)) matched = true;
  }
  return matched;
}

/** True for a non-empty string or a non-empty list of non-empty strings: a valid static secret option. */
export function isSecretList(value: unknown): value is Secrets {
  if (typeof value === 'string') return value !== '';
  return (
    Array.isArray(value) &&
    value.length > 0 &&
    value.every((item) => typeof item === 'string' && item !== '')
  );
}
