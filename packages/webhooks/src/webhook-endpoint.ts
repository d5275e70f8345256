/** Why an endpoint is disabled. */
export type EndpointDisabledReason =
  /** It failed continuously for the auto-disable window. */
  | 'failing'
  /** It answered 410 Gone. */
  | 'gone'
  /** Someone disabled it through the API. */
  | 'manual';

/** An endpoint as the API shows it: no secret, no header values. */
export interface WebhookEndpoint {
  /** `ep_` and 24 characters. */
  id: string;
  tenantId: string;
  url: string;
  description: string;
  /**
   * Event types sent: exact types, prefix wildcards (`call.*`) or `*` for all (but user-addressed
   * events, which go only where their type is named exactly).
   */
  events: string[];
  enabled: boolean;
  /** Set while disabled: why, when, and the last error that led to it. */
  disabled?: { reason: EndpointDisabledReason; at: string; message: string };
  /** Since when every attempt has failed (cleared by any success). */
  failingSince?: string;
  /** Names of the custom headers sent with every delivery (their values are never shown). */
  headerNames: string[];
  /** Most deliveries per second to this endpoint; null for no limit. */
  rateLimitPerSecond: number | null;
  /** Most deliveries in flight to this endpoint at once, across every worker. */
  maxConcurrency: number;
  createdAt: string;
  updatedAt: string;
}

/** One signing secret of an endpoint. */
export interface StoredSecret {
  /** `whsec_…`. */
  secret: string;
  /** Absent for the current secret; for a rotated-out one, when it stops signing (ms). */
  expiresAt?: number;
}

/** An endpoint as a {@link WebhookStore} keeps it, secrets and header values included. */
export interface StoredEndpoint {
  id: string;
  tenantId: string;
  url: string;
  description: string;
  events: string[];
  /** Custom headers, sent as they are; kept like secrets (never listed). */
  headers: Record<string, string>;
  rateLimitPerSecond: number | null;
  maxConcurrency: number;
  /** The current secret first, then rotated-out ones still in their grace period. */
  secrets: StoredSecret[];
  createdAt: number;
  updatedAt: number;
  /** State the store changes atomically with attempts: see `recordAttempt`. */
  enabled: boolean;
  disabledReason?: EndpointDisabledReason;
  disabledAt?: number;
  disabledMessage?: string;
  failingSince?: number;
  consecutiveFailures: number;
}

/** The public view of a stored endpoint. */
export function toWebhookEndpoint(stored: StoredEndpoint): WebhookEndpoint {
  return {
    id: stored.id,
    tenantId: stored.tenantId,
    url: stored.url,
    description: stored.description,
    events: [...stored.events],
    enabled: stored.enabled,
    ...(stored.enabled || stored.disabledAt === undefined
      ? {}
      : {
          disabled: {
            reason: stored.disabledReason ?? 'manual',
            at: new Date(stored.disabledAt).toISOString(),
            message: stored.disabledMessage ?? '',
          },
        }),
    ...(stored.failingSince === undefined
      ? {}
      : { failingSince: new Date(stored.failingSince).toISOString() }),
    headerNames: Object.keys(stored.headers),
    rateLimitPerSecond: stored.rateLimitPerSecond,
    maxConcurrency: stored.maxConcurrency,
    createdAt: new Date(stored.createdAt).toISOString(),
    updatedAt: new Date(stored.updatedAt).toISOString(),
  };
}
