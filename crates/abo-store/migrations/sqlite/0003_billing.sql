-- Billing engine, part 2 (sqlite): stored payment methods and payment attempts.
-- Keep logically identical to the other backend's 0003_billing.sql (only the identity column
-- differs). No booleans here.

-- A customer's stored card or SEPA mandate (ProAbono's GatewayPermission): our snapshot of what
-- the gateway holds; charges hand the gateway its id (gateway_permission_id) back.
CREATE TABLE gateway_permissions (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    business_id BIGINT NOT NULL,
    customer_id BIGINT NOT NULL,
    type_payment TEXT NOT NULL,
    type_gateway TEXT NOT NULL,
    gateway_permission_id TEXT NOT NULL,
    state TEXT NOT NULL,
    name_display TEXT NOT NULL,
    country TEXT NULL,
    date_expiration TEXT NULL,
    mandate_reference TEXT NULL,
    created_at_us BIGINT NOT NULL,
    updated_at_us BIGINT NOT NULL,
    CONSTRAINT gateway_permissions_gateway_key UNIQUE (business_id, type_gateway, gateway_permission_id),
    CONSTRAINT gateway_permissions_tenant_key UNIQUE (business_id, id),
    FOREIGN KEY (business_id, customer_id) REFERENCES customers (business_id, id)
);
CREATE INDEX gateway_permissions_customer_idx ON gateway_permissions (business_id, customer_id);

-- One row per collection attempt of an invoice (automatic or offline). The natural key
-- (invoice, attempt) makes each attempt exactly-once: a retried job finds its row and replays
-- the gateway's answer through the same idempotency key instead of charging again.
CREATE TABLE payments (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    business_id BIGINT NOT NULL,
    invoice_id BIGINT NOT NULL,
    attempt BIGINT NOT NULL,
    type_payment TEXT NOT NULL,
    permission_id BIGINT NULL,
    charge_id TEXT NULL,
    amount BIGINT NOT NULL,
    currency TEXT NOT NULL,
    -- Started, Succeeded, Pending, RequiresAction, Failed, Disputed, Registered
    state TEXT NOT NULL,
    failure_reason TEXT NULL,
    note TEXT NULL,
    date_payment_us BIGINT NULL,
    created_at_us BIGINT NOT NULL,
    updated_at_us BIGINT NOT NULL,
    CONSTRAINT payments_attempt_key UNIQUE (business_id, invoice_id, attempt),
    CONSTRAINT payments_tenant_key UNIQUE (business_id, id),
    FOREIGN KEY (business_id, invoice_id) REFERENCES invoices (business_id, id),
    FOREIGN KEY (business_id, permission_id) REFERENCES gateway_permissions (business_id, id)
);
