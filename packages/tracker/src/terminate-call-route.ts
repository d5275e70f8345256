import {
  type CallSnapshot,
  isTerminalStatus,
  jsonResponse,
  NotFoundError,
  type Principal,
  ProviderApiError,
  UnsupportedOperationError,
} from '@calltrack/core';
import type { CallTracker } from './call-tracker';
import { providerErrorAnswer } from './provider-error-answer';
import { resolveCallControl, type TrackerCallControl } from './tracker-call-control';

/** Tenants whose copy of a call is read at once, for a super-admin's call of another tenant. */
const tenantLookupBatch = 32;

/**
 * `POST /calls/:callId/terminate`: ends a call through its provider's adapter. The call is looked
 * up in the tracker first: in the principal's tenant (or the one a super-admin names with
 * `?tenantId=`; without one a super-admin's active call of any tenant is looked up by id in every
 * tenant that has active calls).
 * Unknown, or another tenant's: 404. Already ended: `200 { callId, status }` with its terminal
 * status, without asking the provider. Known only from its details (an analysis or a recording of
 * a call the tracker never saw a status of): 409 `call_not_active`, without asking the provider
 * either, since no `call.ended` would follow. Otherwise the adapter of the call's provider ends it:
 * `202 { callId, status: 'terminating' }` (the webhook that follows ends it in the tracker and on
 * every screen); no adapter, or a provider that cannot end calls: 501; the provider's failure:
 * see `providerErrorAnswer`. @internal
 */
export async function terminateCallRoute(
  callId: string,
  principal: Principal,
  tenantId: string,
  searchAllTenants: boolean,
  settings: {
    tracker: Pick<CallTracker, 'getCall' | 'countActiveCallsAcrossTenants'>;
    callControl: TrackerCallControl;
  },
): Promise<Response> {
  const call = await findCall(callId, tenantId, searchAllTenants, settings.tracker);
  if (call === undefined) throw new NotFoundError({ message: 'No such call.' });
  if (isEnded(call)) {
    return json(200, { callId, status: call.status });
  }
  if (!call.active) {
    return json(409, {
      error: {
        code: 'call_not_active',
        message:
          'The call is not active: the tracker knows only details of it (no status), so there is nothing to end.',
      },
    });
  }
  const control = await resolveCallControl(settings.callControl, principal, call.provider, {
    tenantId: call.tenantId,
    operation: 'terminate',
  });
  if (control === undefined) {
    throw new UnsupportedOperationError({
      message: `No call control is configured for ${call.provider}: its calls cannot be ended here.`,
    });
  }
  try {
    await control.terminateCall(callId);
  } catch (error) {
    if (!ProviderApiError.isInstance(error)) throw error;
    const { status, body, headers } = providerErrorAnswer(error);
    return json(status, body, headers);
  }
  return json(202, { callId, status: 'terminating' });
}

async function findCall(
  callId: string,
  tenantId: string,
  searchAllTenants: boolean,
  tracker: Pick<CallTracker, 'getCall' | 'countActiveCallsAcrossTenants'>,
): Promise<CallSnapshot | undefined> {
  const own = await tracker.getCall(tenantId, callId);
  if (own !== undefined || !searchAllTenants) return own;
  // By id in each tenant with active calls: one read per tenant, whatever their number of calls
  // (a search among the newest active calls missed the older ones).
  const { byTenant } = await tracker.countActiveCallsAcrossTenants();
  const tenants = Object.keys(byTenant).filter((other) => other !== tenantId);
  for (let index = 0; index < tenants.length; index += tenantLookupBatch) {
    const found = await Promise.all(
      tenants
        .slice(index, index + tenantLookupBatch)
        .map((other) => tracker.getCall(other, callId)),
    );
    const active = found.find((call) => call?.active === true);
    if (active !== undefined) return active;
  }
  return undefined;
}

function isEnded(call: CallSnapshot): boolean {
  return call.status !== undefined && isTerminalStatus(call.status);
}

function json(status: number, body: unknown, headers: Record<string, string> = {}): Response {
  return jsonResponse(body, { status, headers: { 'cache-control': 'no-store', ...headers } });
}
