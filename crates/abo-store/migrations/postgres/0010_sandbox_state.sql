-- The sandbox gateways' own state (CardDummy, DirectDebitDummy): what a real PSP keeps in its
-- database (stored cards and mandates, charges with their pending settlement or chargeback,
-- 3-D Secure verifications, idempotency keys, declined registrations). Persisted so that a
-- restarted `abo serve`, another node or `abo bill` still settles a SEPA debit started before.
-- Each record is one JSON document under (gateway, kind, key); abo-gateway owns its shape.
-- Keep logically identical on both backends.
CREATE TABLE sandbox_records (
    gateway TEXT NOT NULL,
    kind TEXT NOT NULL,
    record_key TEXT NOT NULL,
    value TEXT NOT NULL,
    updated_at_us BIGINT NOT NULL,
    CONSTRAINT sandbox_records_key PRIMARY KEY (gateway, kind, record_key)
);

-- One id sequence per sandbox gateway (`cd_ch_000001`), shared by every node and process so
-- the ids the gateway hands out stay unique.
CREATE TABLE sandbox_sequences (
    gateway TEXT NOT NULL PRIMARY KEY,
    next_value BIGINT NOT NULL
);
