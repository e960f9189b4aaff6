-- Indexes for the engine's batches and their one-by-one paths, which look rows up by
-- buyer or kind; without them each lookup read every row of the business.
--
-- Workers claim the due jobs of the kinds they handle (`jobs::claim_kinds_leased`). Jobs of
-- other kinds may pile up undone (e-mails on a node without a mailer, say): indexed by kind,
-- a claim reads only its own kinds.
CREATE INDEX jobs_kind_due_idx ON jobs (kind, run_at_us) WHERE done_at_us IS NULL;
-- A payment restarts the buyer's subscriptions suspended for unpaid invoices
-- (`engine_scan::buyer_subscriptions_in_state`, `buyers_suspended_for_payment_due`).
CREATE INDEX subscriptions_buyer_idx ON subscriptions (business_id, customer_buyer_id);
-- Delayed starts are looked for at every round of the engine (`engine_scan::due_delayed_starts`).
CREATE INDEX subscriptions_delayed_start_idx ON subscriptions (business_id, date_start_us) WHERE state = 'DraftDelayedStart';
