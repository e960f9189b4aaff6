-- The renewal scan (`subscriptions::due_for_renewal_in`, `next_term_at`): an active
-- subscription falls due at the earlier of its period end and its chosen term. Indexed on
-- that instant so that each round of the scan reads the due subscriptions in order and stops
-- at its limit, instead of reading and sorting every subscription of the business.
CREATE INDEX subscriptions_due_idx ON subscriptions (business_id, (CASE WHEN date_term_us IS NOT NULL AND (date_period_end_us IS NULL OR date_term_us < date_period_end_us) THEN date_term_us ELSE date_period_end_us END), id) WHERE state LIKE 'Active%';
