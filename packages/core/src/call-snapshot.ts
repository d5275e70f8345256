import { z } from 'zod';
import { callDirectionSchema } from './call-direction';
import { callStatusSchema } from './call-status';
import { tenantIdSchema } from './tenant-id-schema';

const shortString = z.string().min(1).max(256);
const isoDateTime = z.iso.datetime({ offset: true });

/**
 * The zod schema of a {@link CallSnapshot}: what the tracker knows about one call, as it goes on
 * the wire (in `event.data.call`, in snapshots of active calls, in the read API). Lenient about
 * extra fields, so a newer tracker can add some without breaking older clients.
 *
 * Times are ISO 8601 (UTC). `startedAt`, `answeredAt` and `endedAt` come from the provider's
 * clock (`occurredAt`); `createdAt` and `updatedAt` from the tracker's.
 */
export const callSnapshotSchema = z.looseObject({
  tenantId: tenantIdSchema,
  /** The provider's call id. */
  callId: shortString,
  /** The provider of the first event seen for the call. */
  provider: z.string().min(1).max(64),
  /**
   * The call's status. Undefined while only enrichment events (an analysis, a recording) have
   * been seen, e.g. for a call that started before the tracker did: such a call is not active.
   */
  status: callStatusSchema.optional(),
  /** True while the status is `queued`, `ringing` or `in-progress`. */
  active: z.boolean(),
  branchId: shortString.optional(),
  agentId: shortString.optional(),
  userId: shortString.optional(),
  direction: callDirectionSchema.optional(),
  /** Caller, E.164 where derivable. Personal data: mask it before logging. */
  from: shortString.optional(),
  /** Callee, E.164 where derivable. Personal data: mask it before logging. */
  to: shortString.optional(),
  /** The earliest `occurredAt` of the call's status events. */
  startedAt: isoDateTime.optional(),
  /** The earliest `occurredAt` of an `in-progress` event. */
  answeredAt: isoDateTime.optional(),
  /** The `occurredAt` of the `call.ended` that ended the call. */
  endedAt: isoDateTime.optional(),
  /**
   * Talk time in milliseconds: as the provider reported it, or else `endedAt - answeredAt`
   * (0 for an ended call that was never answered).
   */
  durationMs: z.number().int().nonnegative().optional(),
  /** Answering-machine detection result, e.g. `human`, `machine_start`. */
  answeredBy: z.string().optional(),
  recordingUrl: z.string().min(1).optional(),
  recordingDurationMs: z.number().int().nonnegative().optional(),
  /** Post-call analysis as the provider reported it. */
  analysis: z.record(z.string(), z.unknown()).optional(),
  cost: z.object({ amount: z.number(), currency: z.string().min(1).max(8) }).optional(),
  /** The provider's reason for the end, e.g. `user_hangup`. */
  disconnectionReason: z.string().optional(),
  /** Why calltrack itself acted, e.g. `stale` for a call closed by the reaper. */
  reason: z.string().optional(),
  /** When the tracker first saw the call. */
  createdAt: isoDateTime,
  /** When an event last changed the call. */
  updatedAt: isoDateTime,
  /**
   * How many events changed the call; grows with every change, so a client holding two
   * snapshots of one call keeps the one with the higher version.
   */
  version: z.number().int().nonnegative(),
});

/**
 * What the tracker knows about one call: the state its events add up to. Every event the tracker
 * fans out carries it in `event.data.call`; snapshots of active calls list it.
 */
export type CallSnapshot = z.infer<typeof callSnapshotSchema>;
