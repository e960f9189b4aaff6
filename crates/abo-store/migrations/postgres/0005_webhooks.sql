-- Webhooks (postgres): endpoints per business, the business's signing secret, and one delivery per
-- event and endpoint (the 60-day notification history). Keep logically identical to the
-- sqlite file of the same number (only the identity column differs). No booleans.

-- The business's webhook secret (ProAbono's "secure my webhooks" key). Kept in clear: signing
-- needs it. After a rotation the previous secret still signs (a second `v1=`) until
-- previous_until_us, so receivers can switch without losing a delivery.
CREATE TABLE webhook_secrets (
    business_id BIGINT PRIMARY KEY REFERENCES businesses (id),
    secret TEXT NOT NULL,
    previous_secret TEXT NULL,
    previous_until_us BIGINT NULL,
    created_at_us BIGINT NOT NULL,
    rotated_at_us BIGINT NULL
);

-- A merchant's endpoint. Inactive until verified (date_verified_us set): the handshake stores
-- the code it sent in verification_code. Deleting keeps the row (deleted_at_us) so the history
-- of its deliveries stays readable.
CREATE TABLE webhook_endpoints (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    business_id BIGINT NOT NULL REFERENCES businesses (id),
    url TEXT NOT NULL,
    -- TypeTrigger names, comma-separated, each wrapped in commas: ",CustomerAdded,InvoiceDebitPaid,"
    triggers TEXT NOT NULL,
    verification_code TEXT NULL,
    date_created_us BIGINT NOT NULL,
    date_verified_us BIGINT NULL,
    deleted_at_us BIGINT NULL,
    CONSTRAINT webhook_endpoints_tenant_key UNIQUE (business_id, id)
);
CREATE INDEX webhook_endpoints_business_idx ON webhook_endpoints (business_id);

-- One event (an outbox job of kind Webhook, envelope Id event_id) to one endpoint. The payload is
-- the exact body sent. status: Pending, Delivered, Failed.
CREATE TABLE webhook_deliveries (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    business_id BIGINT NOT NULL,
    endpoint_id BIGINT NOT NULL,
    event_id TEXT NOT NULL,
    type_trigger TEXT NOT NULL,
    date_trigger_us BIGINT NOT NULL,
    payload TEXT NOT NULL,
    status TEXT NOT NULL,
    attempts BIGINT NOT NULL DEFAULT 0,
    last_http_status BIGINT NULL,
    last_error TEXT NULL,
    last_attempt_us BIGINT NULL,
    next_attempt_us BIGINT NULL,
    delivered_at_us BIGINT NULL,
    created_at_us BIGINT NOT NULL,
    CONSTRAINT webhook_deliveries_event_key UNIQUE (business_id, event_id, endpoint_id),
    CONSTRAINT webhook_deliveries_tenant_key UNIQUE (business_id, id),
    FOREIGN KEY (business_id, endpoint_id) REFERENCES webhook_endpoints (business_id, id)
);
CREATE INDEX webhook_deliveries_history_idx ON webhook_deliveries (business_id, created_at_us);
