import { tenantIdSchema } from '@calltrack/core';
import { isKeyText } from '@calltrack/core/internal';
import { z } from 'zod';
import { InvalidLeadError } from './errors/invalid-lead-error';
import { isStorableText } from './is-storable-text';
import type { LeadInput } from './lead';

const storable = z.string().refine(isStorableText, {
  message: 'must not contain a NUL character or a lone surrogate',
});
// Lead and user ids also become parts of event ids and the events' `userId`, which refuse every
// control character as well.
const id = z
  .string()
  .min(1)
  .max(256)
  .refine(isKeyText, { message: 'must not contain a control character or a lone surrogate' });

// Structure only: whether the number can be dialled and the zone exists is decided by the gates
// at dial time, so a lead with a bad number is kept and skipped with a reason, not lost.
const leadInputSchema = z.object({
  tenantId: tenantIdSchema,
  leadId: id,
  userId: id,
  phoneNumber: storable.max(64),
  timeZone: storable.min(1).max(64).optional(),
});

/**
 * Checks what a store is asked to add, all or nothing: throws `InvalidLeadError` naming the
 * first input and field that is not a lead.
 */
export function parseLeadInputs(leads: readonly LeadInput[]): LeadInput[] {
  if (!Array.isArray(leads)) {
    throw new InvalidLeadError({ index: 0, field: 'leads', message: 'must be an array' });
  }
  return leads.map((lead, index) => {
    const result = leadInputSchema.safeParse(lead);
    if (!result.success) {
      const issue = result.error.issues[0];
      throw new InvalidLeadError({
        index,
        field: issue?.path.join('.') || 'lead',
        message: issue?.message ?? 'is invalid',
      });
    }
    const { timeZone, ...rest } = result.data;
    return timeZone === undefined ? rest : { ...rest, timeZone };
  });
}
