-- Limitation extras already billed for a subscription's current period (billing-rules,
-- Features: "an increase during a period is charged pro rata; a decrease takes effect at
-- renewal"). One row per subscription feature: the high-water mark of the quantity charged
-- for period `period_index`, set by the renewal to the quantity it billed in advance and
-- raised by each usage write that charges an increase. A row of an earlier period is stale
-- (the next write starts from the quantity then in effect). Keep logically identical on
-- both backends.
CREATE TABLE limitation_billed (
    business_id BIGINT NOT NULL,
    subscription_id BIGINT NOT NULL,
    feature_id BIGINT NOT NULL,
    period_index BIGINT NOT NULL,
    quantity BIGINT NOT NULL,
    updated_at_us BIGINT NOT NULL,
    CONSTRAINT limitation_billed_key PRIMARY KEY (business_id, subscription_id, feature_id)
);
