-- Abo initial schema (PostgreSQL). Keep logically identical to migrations/sqlite/0001_init.sql:
-- the only differences are identity columns (GENERATED ALWAYS AS IDENTITY vs INTEGER PRIMARY KEY
-- AUTOINCREMENT) and booleans (BOOLEAN vs INTEGER 0/1, because sqlx's Any driver cannot read a
-- column declared BOOLEAN on SQLite).
-- Conventions: ids BIGINT; amounts BIGINT minor units + currency TEXT; instants BIGINT epoch
-- microseconds UTC (suffix _us); civil dates TEXT 'YYYY-MM-DD'; decimals TEXT; JSON TEXT.
-- Tenancy: every business-owned row carries business_id; composite foreign keys
-- (business_id, x_id) -> x(business_id, id) make cross-tenant references impossible.

CREATE TABLE businesses (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name TEXT NOT NULL,
    country TEXT NOT NULL DEFAULT 'FR',
    default_language TEXT NOT NULL DEFAULT 'en',
    is_test BOOLEAN NOT NULL DEFAULT FALSE,
    test_clock_us BIGINT NULL,
    created_at_us BIGINT NOT NULL
);

CREATE TABLE segments (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    business_id BIGINT NOT NULL REFERENCES businesses (id),
    reference TEXT NOT NULL,
    name TEXT NOT NULL,
    currency TEXT NOT NULL,
    time_zone TEXT NOT NULL DEFAULT 'Europe/Paris',
    locale TEXT NOT NULL DEFAULT 'en',
    is_default BOOLEAN NOT NULL DEFAULT FALSE,
    url_integrated_form TEXT NULL,
    url_integrated_portal TEXT NULL,
    block_renewal_without_payment_method BOOLEAN NOT NULL DEFAULT TRUE,
    upgrade_at_renewal BOOLEAN NOT NULL DEFAULT FALSE,
    invoice_prefix TEXT NOT NULL DEFAULT 'S-',
    credit_note_prefix TEXT NOT NULL DEFAULT 'C-',
    next_invoice_number BIGINT NOT NULL DEFAULT 1,
    next_credit_note_number BIGINT NOT NULL DEFAULT 1,
    created_at_us BIGINT NOT NULL,
    updated_at_us BIGINT NOT NULL,
    CONSTRAINT segments_reference_key UNIQUE (business_id, reference),
    CONSTRAINT segments_tenant_key UNIQUE (business_id, id)
);
CREATE UNIQUE INDEX segments_one_default ON segments (business_id) WHERE is_default;

CREATE TABLE api_credentials (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    business_id BIGINT NOT NULL REFERENCES businesses (id),
    agent_key TEXT NOT NULL,
    api_key_hash TEXT NOT NULL,
    label TEXT NOT NULL DEFAULT '',
    created_at_us BIGINT NOT NULL,
    revoked_at_us BIGINT NULL,
    CONSTRAINT api_credentials_agent_key_key UNIQUE (agent_key)
);

CREATE TABLE link_keys (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    business_id BIGINT NOT NULL REFERENCES businesses (id),
    kid TEXT NOT NULL,
    secret_hex TEXT NOT NULL,
    created_at_us BIGINT NOT NULL,
    retired_at_us BIGINT NULL,
    CONSTRAINT link_keys_kid_key UNIQUE (business_id, kid)
);

CREATE TABLE features (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    business_id BIGINT NOT NULL REFERENCES businesses (id),
    reference TEXT NOT NULL,
    name TEXT NOT NULL,
    description TEXT NULL,
    type_feature TEXT NOT NULL,
    is_visible BOOLEAN NOT NULL DEFAULT TRUE,
    created_at_us BIGINT NOT NULL,
    updated_at_us BIGINT NOT NULL,
    CONSTRAINT features_reference_key UNIQUE (business_id, reference),
    CONSTRAINT features_tenant_key UNIQUE (business_id, id)
);

CREATE TABLE offers (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    business_id BIGINT NOT NULL,
    segment_id BIGINT NOT NULL,
    reference TEXT NOT NULL,
    name TEXT NOT NULL,
    description TEXT NULL,
    is_visible BOOLEAN NOT NULL DEFAULT TRUE,
    currency TEXT NOT NULL,
    amount_upfront BIGINT NOT NULL DEFAULT 0,
    amount_trial BIGINT NOT NULL DEFAULT 0,
    duration_trial BIGINT NULL,
    unit_trial TEXT NULL,
    amount_recurrence BIGINT NOT NULL DEFAULT 0,
    duration_recurrence BIGINT NOT NULL DEFAULT 1,
    unit_recurrence TEXT NOT NULL DEFAULT 'Month',
    count_recurrences BIGINT NULL,
    count_min_recurrences BIGINT NULL,
    amount_termination BIGINT NOT NULL DEFAULT 0,
    created_at_us BIGINT NOT NULL,
    updated_at_us BIGINT NOT NULL,
    CONSTRAINT offers_reference_key UNIQUE (segment_id, reference),
    CONSTRAINT offers_tenant_key UNIQUE (business_id, id),
    FOREIGN KEY (business_id, segment_id) REFERENCES segments (business_id, id)
);

CREATE TABLE offer_features (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    business_id BIGINT NOT NULL,
    offer_id BIGINT NOT NULL,
    feature_id BIGINT NOT NULL,
    is_included BOOLEAN NOT NULL DEFAULT TRUE,
    is_enabled BOOLEAN NOT NULL DEFAULT TRUE,
    quantity_included BIGINT NULL,
    pricing_model TEXT NOT NULL DEFAULT 'None',
    pricing_amount BIGINT NULL,
    updatable_before_subscription BOOLEAN NOT NULL DEFAULT FALSE,
    updatable_after_subscription BOOLEAN NOT NULL DEFAULT FALSE,
    free_in_trial BOOLEAN NOT NULL DEFAULT FALSE,
    position BIGINT NOT NULL DEFAULT 0,
    CONSTRAINT offer_features_key UNIQUE (offer_id, feature_id),
    FOREIGN KEY (business_id, offer_id) REFERENCES offers (business_id, id) ON DELETE CASCADE,
    FOREIGN KEY (business_id, feature_id) REFERENCES features (business_id, id)
);

CREATE TABLE offer_feature_tiers (
    offer_feature_id BIGINT NOT NULL REFERENCES offer_features (id) ON DELETE CASCADE,
    position BIGINT NOT NULL,
    up_to BIGINT NULL,
    price_kind TEXT NOT NULL,
    amount BIGINT NOT NULL,
    lot_size BIGINT NULL,
    PRIMARY KEY (offer_feature_id, position)
);

CREATE TABLE pricing_tables (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    business_id BIGINT NOT NULL,
    segment_id BIGINT NOT NULL,
    reference TEXT NOT NULL,
    name TEXT NOT NULL,
    created_at_us BIGINT NOT NULL,
    updated_at_us BIGINT NOT NULL,
    CONSTRAINT pricing_tables_reference_key UNIQUE (segment_id, reference),
    CONSTRAINT pricing_tables_tenant_key UNIQUE (business_id, id),
    FOREIGN KEY (business_id, segment_id) REFERENCES segments (business_id, id)
);

CREATE TABLE pricing_table_offers (
    business_id BIGINT NOT NULL,
    pricing_table_id BIGINT NOT NULL,
    offer_id BIGINT NOT NULL,
    position BIGINT NOT NULL,
    PRIMARY KEY (pricing_table_id, offer_id),
    FOREIGN KEY (business_id, pricing_table_id) REFERENCES pricing_tables (business_id, id) ON DELETE CASCADE,
    FOREIGN KEY (business_id, offer_id) REFERENCES offers (business_id, id)
);

CREATE TABLE discounts (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    business_id BIGINT NOT NULL,
    segment_id BIGINT NOT NULL,
    reference TEXT NOT NULL,
    name TEXT NOT NULL,
    target TEXT NOT NULL,
    feature_id BIGINT NULL,
    value_kind TEXT NOT NULL,
    amount BIGINT NULL,
    percent TEXT NULL,
    count_recurrences BIGINT NULL,
    created_at_us BIGINT NOT NULL,
    updated_at_us BIGINT NOT NULL,
    CONSTRAINT discounts_reference_key UNIQUE (segment_id, reference),
    FOREIGN KEY (business_id, segment_id) REFERENCES segments (business_id, id),
    FOREIGN KEY (business_id, feature_id) REFERENCES features (business_id, id)
);

CREATE TABLE customers (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    business_id BIGINT NOT NULL,
    segment_id BIGINT NOT NULL,
    reference TEXT NOT NULL,
    name TEXT NULL,
    email TEXT NULL,
    language TEXT NULL,
    status TEXT NOT NULL DEFAULT 'Enabled',
    reference_affiliation TEXT NULL,
    date_affiliation_us BIGINT NULL,
    metadata TEXT NULL,
    links_epoch BIGINT NOT NULL DEFAULT 0,
    company TEXT NULL,
    first_name TEXT NULL,
    last_name TEXT NULL,
    address_line1 TEXT NULL,
    address_line2 TEXT NULL,
    zip_code TEXT NULL,
    city TEXT NULL,
    country TEXT NULL,
    region TEXT NULL,
    phone TEXT NULL,
    tax_information TEXT NULL,
    type_payment TEXT NOT NULL DEFAULT 'Free',
    mode_billing TEXT NOT NULL DEFAULT 'Auto',
    is_grey_listed BOOLEAN NOT NULL DEFAULT FALSE,
    note_invoice TEXT NULL,
    date_next_billing_us BIGINT NULL,
    created_at_us BIGINT NOT NULL,
    updated_at_us BIGINT NOT NULL,
    CONSTRAINT customers_reference_key UNIQUE (segment_id, reference),
    CONSTRAINT customers_tenant_key UNIQUE (business_id, id),
    FOREIGN KEY (business_id, segment_id) REFERENCES segments (business_id, id)
);

CREATE TABLE subscriptions (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    business_id BIGINT NOT NULL,
    segment_id BIGINT NOT NULL,
    customer_id BIGINT NOT NULL,
    customer_buyer_id BIGINT NOT NULL,
    offer_id BIGINT NULL,
    state TEXT NOT NULL,
    title TEXT NOT NULL,
    description TEXT NULL,
    currency TEXT NOT NULL,
    amount_upfront BIGINT NOT NULL DEFAULT 0,
    amount_trial BIGINT NOT NULL DEFAULT 0,
    duration_trial BIGINT NULL,
    unit_trial TEXT NULL,
    amount_recurrence BIGINT NOT NULL DEFAULT 0,
    duration_recurrence BIGINT NOT NULL DEFAULT 1,
    unit_recurrence TEXT NOT NULL DEFAULT 'Month',
    count_recurrences BIGINT NULL,
    count_min_recurrences BIGINT NULL,
    amount_termination BIGINT NOT NULL DEFAULT 0,
    date_start_us BIGINT NULL,
    date_period_start_us BIGINT NULL,
    date_period_end_us BIGINT NULL,
    date_end_us BIGINT NULL,
    date_term_us BIGINT NULL,
    billing_anchor TEXT NULL,
    period_index BIGINT NOT NULL DEFAULT 0,
    is_trial BOOLEAN NOT NULL DEFAULT FALSE,
    metadata TEXT NULL,
    created_at_us BIGINT NOT NULL,
    updated_at_us BIGINT NOT NULL,
    CONSTRAINT subscriptions_tenant_key UNIQUE (business_id, id),
    FOREIGN KEY (business_id, segment_id) REFERENCES segments (business_id, id),
    FOREIGN KEY (business_id, customer_id) REFERENCES customers (business_id, id),
    FOREIGN KEY (business_id, customer_buyer_id) REFERENCES customers (business_id, id),
    FOREIGN KEY (business_id, offer_id) REFERENCES offers (business_id, id)
);
CREATE INDEX subscriptions_customer_idx ON subscriptions (business_id, customer_id);
CREATE INDEX subscriptions_period_end_idx ON subscriptions (date_period_end_us);

CREATE TABLE subscription_features (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    business_id BIGINT NOT NULL,
    subscription_id BIGINT NOT NULL,
    feature_id BIGINT NOT NULL,
    is_included BOOLEAN NOT NULL DEFAULT TRUE,
    is_enabled BOOLEAN NOT NULL DEFAULT TRUE,
    quantity_included BIGINT NULL,
    quantity_current BIGINT NULL,
    pricing_model TEXT NOT NULL DEFAULT 'None',
    pricing_amount BIGINT NULL,
    updatable_before_subscription BOOLEAN NOT NULL DEFAULT FALSE,
    updatable_after_subscription BOOLEAN NOT NULL DEFAULT FALSE,
    free_in_trial BOOLEAN NOT NULL DEFAULT FALSE,
    position BIGINT NOT NULL DEFAULT 0,
    CONSTRAINT subscription_features_key UNIQUE (subscription_id, feature_id),
    FOREIGN KEY (business_id, subscription_id) REFERENCES subscriptions (business_id, id) ON DELETE CASCADE,
    FOREIGN KEY (business_id, feature_id) REFERENCES features (business_id, id)
);

CREATE TABLE subscription_feature_tiers (
    subscription_feature_id BIGINT NOT NULL REFERENCES subscription_features (id) ON DELETE CASCADE,
    position BIGINT NOT NULL,
    up_to BIGINT NULL,
    price_kind TEXT NOT NULL,
    amount BIGINT NOT NULL,
    lot_size BIGINT NULL,
    PRIMARY KEY (subscription_feature_id, position)
);

CREATE TABLE usage_events (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    business_id BIGINT NOT NULL,
    subscription_id BIGINT NOT NULL,
    feature_id BIGINT NOT NULL,
    increment BIGINT NULL,
    quantity BIGINT NULL,
    date_stamp_us BIGINT NOT NULL,
    idempotency_key TEXT NULL,
    created_at_us BIGINT NOT NULL,
    CONSTRAINT usage_events_idempotency_key UNIQUE (business_id, idempotency_key),
    FOREIGN KEY (business_id, subscription_id) REFERENCES subscriptions (business_id, id),
    FOREIGN KEY (business_id, feature_id) REFERENCES features (business_id, id)
);
CREATE INDEX usage_events_subscription_idx ON usage_events (subscription_id, feature_id);

CREATE TABLE invoices (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    business_id BIGINT NOT NULL,
    segment_id BIGINT NOT NULL,
    customer_id BIGINT NOT NULL,
    number BIGINT NULL,
    full_number TEXT NULL,
    is_credit_note BOOLEAN NOT NULL DEFAULT FALSE,
    type_credit TEXT NULL,
    credited_invoice_id BIGINT NULL,
    state TEXT NOT NULL,
    type_payment TEXT NOT NULL,
    currency TEXT NOT NULL,
    amount_subtotal BIGINT NOT NULL DEFAULT 0,
    amount_tax BIGINT NOT NULL DEFAULT 0,
    amount_total BIGINT NOT NULL DEFAULT 0,
    date_issue_us BIGINT NULL,
    date_payment_us BIGINT NULL,
    date_payment_limit_us BIGINT NULL,
    date_payment_scheduled_us BIGINT NULL,
    note TEXT NULL,
    reason TEXT NULL,
    buyer TEXT NULL,
    created_at_us BIGINT NOT NULL,
    updated_at_us BIGINT NOT NULL,
    CONSTRAINT invoices_full_number_key UNIQUE (business_id, full_number),
    CONSTRAINT invoices_tenant_key UNIQUE (business_id, id),
    FOREIGN KEY (business_id, segment_id) REFERENCES segments (business_id, id),
    FOREIGN KEY (business_id, customer_id) REFERENCES customers (business_id, id),
    FOREIGN KEY (business_id, credited_invoice_id) REFERENCES invoices (business_id, id)
);
CREATE INDEX invoices_customer_idx ON invoices (business_id, customer_id);

CREATE TABLE balance_lines (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    business_id BIGINT NOT NULL,
    segment_id BIGINT NOT NULL,
    customer_id BIGINT NOT NULL,
    subscription_id BIGINT NULL,
    feature_id BIGINT NULL,
    type_line TEXT NOT NULL,
    key_charge TEXT NULL,
    label TEXT NOT NULL,
    quantity_reported BIGINT NULL,
    quantity_billed BIGINT NULL,
    amount_subtotal BIGINT NOT NULL,
    currency TEXT NOT NULL,
    date_move_us BIGINT NULL,
    date_period_start_us BIGINT NULL,
    date_period_end_us BIGINT NULL,
    state_move TEXT NOT NULL DEFAULT 'Due',
    invoice_id BIGINT NULL,
    natural_key TEXT NULL,
    created_at_us BIGINT NOT NULL,
    CONSTRAINT balance_lines_natural_key UNIQUE (business_id, natural_key),
    FOREIGN KEY (business_id, segment_id) REFERENCES segments (business_id, id),
    FOREIGN KEY (business_id, customer_id) REFERENCES customers (business_id, id),
    FOREIGN KEY (business_id, subscription_id) REFERENCES subscriptions (business_id, id),
    FOREIGN KEY (business_id, invoice_id) REFERENCES invoices (business_id, id)
);
CREATE INDEX balance_lines_customer_idx ON balance_lines (business_id, customer_id, state_move);

CREATE TABLE invoice_lines (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    invoice_id BIGINT NOT NULL REFERENCES invoices (id) ON DELETE CASCADE,
    position BIGINT NOT NULL DEFAULT 0,
    balance_line_id BIGINT NULL REFERENCES balance_lines (id),
    type_line TEXT NOT NULL,
    label TEXT NOT NULL,
    quantity BIGINT NOT NULL DEFAULT 1,
    unit_amount BIGINT NOT NULL DEFAULT 0,
    amount_subtotal BIGINT NOT NULL,
    tax_rate TEXT NOT NULL DEFAULT '0',
    amount_tax BIGINT NOT NULL DEFAULT 0,
    date_period_start_us BIGINT NULL,
    date_period_end_us BIGINT NULL
);
CREATE INDEX invoice_lines_invoice_idx ON invoice_lines (invoice_id);

CREATE TABLE jobs (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    business_id BIGINT NULL REFERENCES businesses (id),
    kind TEXT NOT NULL,
    payload TEXT NOT NULL DEFAULT '{}',
    run_at_us BIGINT NOT NULL,
    attempts BIGINT NOT NULL DEFAULT 0,
    max_attempts BIGINT NOT NULL DEFAULT 10,
    locked_by TEXT NULL,
    locked_until_us BIGINT NULL,
    last_error TEXT NULL,
    done_at_us BIGINT NULL,
    natural_key TEXT NULL,
    created_at_us BIGINT NOT NULL,
    CONSTRAINT jobs_natural_key UNIQUE (natural_key)
);
CREATE INDEX jobs_due_idx ON jobs (run_at_us) WHERE done_at_us IS NULL;

CREATE TABLE idempotency_keys (
    business_id BIGINT NOT NULL REFERENCES businesses (id),
    key TEXT NOT NULL,
    request_hash TEXT NOT NULL,
    status BIGINT NULL,
    response_body TEXT NULL,
    created_at_us BIGINT NOT NULL,
    PRIMARY KEY (business_id, key)
);
