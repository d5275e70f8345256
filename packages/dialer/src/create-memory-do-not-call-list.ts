import { checkDoNotCallNumbers } from './check-do-not-call-numbers';
import type { DoNotCallList } from './do-not-call-list';

/** A do-not-call list in this process's memory. */
export function createMemoryDoNotCallList(): DoNotCallList {
  const numbers = new Map<string, Set<string>>();
  return {
    async has(tenantId, phoneNumber) {
      return numbers.get(tenantId)?.has(phoneNumber) === true;
    },
    async add(tenantId, phoneNumbers) {
      checkDoNotCallNumbers(phoneNumbers);
      const set = numbers.get(tenantId) ?? new Set();
      for (const number of phoneNumbers) set.add(number);
      numbers.set(tenantId, set);
    },
    async remove(tenantId, phoneNumbers) {
      for (const number of phoneNumbers) numbers.get(tenantId)?.delete(number);
    },
  };
}
