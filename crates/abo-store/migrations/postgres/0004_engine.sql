-- Billing engine, part 3 (postgres): unpaid thresholds, overdue delay, discounts attached to
-- subscriptions. Keep logically identical to the other backend's
-- 0004_engine.sql (only the identity column differs). No booleans here.

-- Per-segment billing settings that the segments table does not carry. No row = the defaults:
-- no unpaid threshold (ProAbono's default), overdue after 60 days.
CREATE TABLE segment_billing_settings (
    business_id BIGINT NOT NULL,
    segment_id BIGINT NOT NULL,
    -- At renewal, a buyer whose unpaid issued invoices add up to at least this amount (minor
    -- units) is suspended (SuspendedPaymentDue). NULL = no amount threshold.
    unpaid_threshold_amount BIGINT NULL,
    -- ... or whose oldest unpaid invoice was issued at least this many days before.
    unpaid_threshold_days BIGINT NULL,
    -- An invoice still unpaid this many days after its issue is overdue.
    overdue_days BIGINT NOT NULL DEFAULT 60,
    updated_at_us BIGINT NOT NULL,
    CONSTRAINT segment_billing_settings_key UNIQUE (business_id, segment_id),
    FOREIGN KEY (business_id, segment_id) REFERENCES segments (business_id, id)
);

-- A discount attached to a subscription (SubscriptionRequest.Discounts). It applies to the
-- periods from period_index_from on, for the discount's count_recurrences periods (NULL =
-- forever).
CREATE TABLE subscription_discounts (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    business_id BIGINT NOT NULL,
    subscription_id BIGINT NOT NULL,
    discount_id BIGINT NOT NULL REFERENCES discounts (id),
    period_index_from BIGINT NOT NULL,
    created_at_us BIGINT NOT NULL,
    CONSTRAINT subscription_discounts_key UNIQUE (subscription_id, discount_id),
    FOREIGN KEY (business_id, subscription_id) REFERENCES subscriptions (business_id, id)
        ON DELETE CASCADE
);
CREATE INDEX subscription_discounts_subscription_idx
    ON subscription_discounts (business_id, subscription_id);

