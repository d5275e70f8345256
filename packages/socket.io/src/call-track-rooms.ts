/**
 * Room names calltrack uses. Tenant ids cannot contain `{` or `}` (see `tenantIdSchema`), so
 * wrapping the tenant in braces keeps every name unambiguous: no tenant can ever produce another
 * tenant's room name, whatever its id or the user and call ids contain. The rooms of the
 * all-tenants view put `*` where tenant rooms put `{`, so no tenant can produce one of those
 * either.
 */

// Names are built with `join` rather than template literals: a template literal yields a chain
// of V8 cons strings, and a room name lives as long as its connection (it keys the adapter's
// maps), so a flat string saves about 60 bytes per connection and room.

/** The room every authenticated connection of a tenant joins on connect: `tenant:<tenantId>`. */
export function tenantRoom(tenantId: string): string {
  return ['tenant:', tenantId].join('');
}

/**
 * The room every connection of one user joins on connect: `user:{<tenantId>}:<userId>`. The
 * tenant is part of the name, so two tenants whose users share an id never share a room.
 */
export function userRoom(tenantId: string, userId: string): string {
  return ['user:{', tenantId, '}:', userId].join('');
}

/** The room of connections subscribed to one call: `call:{<tenantId>}:<callId>`. */
export function callRoom(tenantId: string, callId: string): string {
  return ['call:{', tenantId, '}:', callId].join('');
}

/**
 * The room of connections streaming the tenant's calls (`subscribe_to_calls`):
 * `calls:{<tenantId>}`, or `calls:{<tenantId>}:<types>` for a type filter (its sorted types).
 */
export function callsRoom(tenantId: string, typesKey = ''): string {
  return typesKey === '' ? `calls:{${tenantId}}` : `calls:{${tenantId}}:${typesKey}`;
}

/**
 * The room of all-tenants connections streaming every tenant's calls: `calls:*`, or
 * `calls:*:<types>` for a type filter.
 */
export function allTenantsCallsRoom(typesKey = ''): string {
  return typesKey === '' ? 'calls:*' : `calls:*:${typesKey}`;
}

/** The room of all-tenants connections subscribed to one call: `call:*:{<tenantId>}:<callId>`. */
export function allTenantsCallRoom(tenantId: string, callId: string): string {
  return ['call:*:{', tenantId, '}:', callId].join('');
}
