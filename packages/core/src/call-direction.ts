import { z } from 'zod';

/** Whether the call came in to the tenant or was placed by it. */
export const callDirections = ['inbound', 'outbound'] as const;

/** A normalized call direction. */
export type CallDirection = (typeof callDirections)[number];

/** zod schema of {@link CallDirection}. */
export const callDirectionSchema = z.enum(callDirections);
