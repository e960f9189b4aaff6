-- Refunds of paid invoices (spec §1.9: "refund: credit note, PaidRefunded; automatic refund via
-- gateway or manual"). A row is written and committed before the gateway is asked (state
-- Started): it reserves what it refunds, so refunds running at once never add up to more than
-- the invoice (they count issued credit notes plus Started refunds, under the invoice's row
-- lock). The gateway gets the idempotency key `refund:{id}`; once it answered, the credit note
-- is issued (credit_note_id) and the row is Succeeded, or Recorded for an offline payment, or
-- Failed (nothing issued, nothing reserved any more).
-- Keep logically identical to the other backend's 0011_refunds.sql (only the identity column
-- differs).
CREATE TABLE refunds (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    business_id BIGINT NOT NULL,
    invoice_id BIGINT NOT NULL,
    credit_note_id BIGINT NULL,
    -- The payment refunded through the gateway; NULL for an offline payment.
    payment_id BIGINT NULL,
    type_payment TEXT NOT NULL,
    amount BIGINT NOT NULL,
    currency TEXT NOT NULL,
    -- JSON: [{"rate": "20", "base": 1000, "amount": 200}, ...], what the note will credit.
    breakdown TEXT NOT NULL,
    reason TEXT NULL,
    -- Started, Succeeded, Recorded, Failed
    state TEXT NOT NULL,
    gateway_refund_id TEXT NULL,
    failure_reason TEXT NULL,
    created_at_us BIGINT NOT NULL,
    updated_at_us BIGINT NOT NULL,
    CONSTRAINT refunds_credit_note_key UNIQUE (business_id, credit_note_id),
    FOREIGN KEY (business_id, invoice_id) REFERENCES invoices (business_id, id),
    FOREIGN KEY (business_id, credit_note_id) REFERENCES invoices (business_id, id),
    FOREIGN KEY (business_id, payment_id) REFERENCES payments (business_id, id)
);
CREATE INDEX refunds_invoice_idx ON refunds (business_id, invoice_id);
