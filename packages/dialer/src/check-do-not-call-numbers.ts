import { InvalidArgumentError } from '@calltrack/core';
import { isE164Number } from './is-e164-number';

/**
 * Refuses numbers a do-not-call list is asked to add that are not E.164: the lists compare
 * numbers as given and the gates dial E.164 only, so `+1 (415) 555-0100` kept as typed would
 * never stop a call to `+14155550100`. The error names the position, not the number.
 */
export function checkDoNotCallNumbers(phoneNumbers: readonly string[]): void {
  if (!Array.isArray(phoneNumbers)) {
    throw new InvalidArgumentError({ message: 'Give the do-not-call numbers as an array.' });
  }
  const index = phoneNumbers.findIndex((number) => !isE164Number(number));
  if (index !== -1) {
    throw new InvalidArgumentError({
      message: `Do-not-call numbers must be E.164 (a plus, the country code and the number, nothing else), as leads are dialled: the one at index ${index} is not. None was added.`,
    });
  }
}
