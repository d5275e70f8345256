import { setTimeout as sleep } from 'node:timers/promises';
import type { ProviderApiFault } from './provider-api';

/** How one provider answers, for {@link applyProviderApiFault}. @internal */
export interface FaultAnswers {
  /** The provider's definite refusal (`status` when the fault names one). */
  refuse(status: number | undefined, message: string | undefined): Response;
  /** The provider's server error. */
  fail(status: number, message: string | undefined): Response;
}

/**
 * Carries out a request under an injected fault: refuses it, fails it (after carrying it out
 * when `placed`), or answers it late (after `ms`, or once `until` settles); without a fault,
 * just carries it out. @internal
 */
export async function applyProviderApiFault(
  fault: ProviderApiFault | undefined,
  answers: FaultAnswers,
  carryOut: () => Response | Promise<Response>,
): Promise<Response> {
  if (fault === undefined) return carryOut();
  switch (fault.type) {
    case 'refuse':
      return answers.refuse(fault.status, fault.message);
    case 'fail':
      if (fault.placed === true) await carryOut();
      return answers.fail(fault.status ?? 500, fault.message);
    case 'delay': {
      const answer = await carryOut();
      await sleep(Math.max(0, fault.ms));
      return answer;
    }
    case 'hold': {
      const answer = await carryOut();
      // Settled either way: a rejected `until` releases the answer too.
      await Promise.resolve(fault.until).catch(() => {});
      return answer;
    }
  }
}
