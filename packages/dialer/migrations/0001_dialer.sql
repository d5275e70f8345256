-- calltrack dialer: leads and attempts (idempotent).
CREATE TABLE IF NOT EXISTS "leads" (
  "tenant_id" text NOT NULL,
  "id" text NOT NULL,
  "user_id" text NOT NULL,
  "phone_number" text,
  "time_zone" text,
  "call_status" text NOT NULL DEFAULT 'pending',
  "has_been_called" boolean NOT NULL DEFAULT false,
  PRIMARY KEY ("tenant_id", "id")
);

ALTER TABLE "leads"
  ADD COLUMN IF NOT EXISTS "dialer_attempt_count" integer NOT NULL DEFAULT 0,
  ADD COLUMN IF NOT EXISTS "dialer_last_attempt_at" timestamptz,
  ADD COLUMN IF NOT EXISTS "dialer_attempt_id" text,
  ADD COLUMN IF NOT EXISTS "dialer_fence" bigint NOT NULL DEFAULT 0,
  ADD COLUMN IF NOT EXISTS "dialer_provider" text,
  ADD COLUMN IF NOT EXISTS "dialer_call_id" text,
  ADD COLUMN IF NOT EXISTS "dialer_call_outcome" text,
  ADD COLUMN IF NOT EXISTS "dialer_skip_reason" text,
  ADD COLUMN IF NOT EXISTS "dialer_skipped_at" timestamptz;

-- The dialer's read: a user's pending leads, in id order.
CREATE INDEX IF NOT EXISTS "leads_dialer_pending"
  ON "leads" ("tenant_id", "user_id", "id")
  WHERE "call_status" = 'pending' AND "has_been_called" = false;

CREATE TABLE IF NOT EXISTS "calltrack_dialer_attempts" (
  attempt_id text PRIMARY KEY,
  tenant_id text NOT NULL,
  lead_id text NOT NULL,
  user_id text NOT NULL,
  fence bigint NOT NULL,
  state text NOT NULL,
  claimed_at timestamptz NOT NULL,
  lease_until timestamptz,
  updated_at timestamptz NOT NULL,
  provider text,
  call_id text,
  outcome text,
  reason text,
  claimed_by text
);

-- Linking a provider's call (its webhooks) to the attempt.
CREATE INDEX IF NOT EXISTS "calltrack_dialer_attempts_call"
  ON "calltrack_dialer_attempts" (tenant_id, provider, call_id) WHERE call_id IS NOT NULL;
-- The reconciler: claimed or unknown attempts whose lease ran out.
CREATE INDEX IF NOT EXISTS "calltrack_dialer_attempts_lease"
  ON "calltrack_dialer_attempts" (lease_until) WHERE state IN ('claimed', 'unknown');
-- Review lists and the concurrency cap.
CREATE INDEX IF NOT EXISTS "calltrack_dialer_attempts_tenant"
  ON "calltrack_dialer_attempts" (tenant_id, claimed_at DESC);
CREATE INDEX IF NOT EXISTS "calltrack_dialer_attempts_live"
  ON "calltrack_dialer_attempts" (tenant_id, user_id, claimed_at) WHERE state IN ('claimed', 'placed', 'unknown');
-- The reconciler: placed calls whose end no dialer saw.
CREATE INDEX IF NOT EXISTS "calltrack_dialer_attempts_placed"
  ON "calltrack_dialer_attempts" (updated_at) WHERE state = 'placed';
