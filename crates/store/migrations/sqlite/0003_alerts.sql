-- The alerts an instance holds, so a restarted instance still knows what is firing and what
-- resolved (and sends the resolved notification) without waiting for senders to repeat.
-- body is the alert as JSON (labels, annotations, times with their offsets, generator URL).
CREATE TABLE alerts (
    fingerprint TEXT PRIMARY KEY,
    updated_at_ns BIGINT NOT NULL,
    ends_at_ns BIGINT NOT NULL,
    body BLOB NOT NULL
);
CREATE INDEX alerts_ends_at_ns ON alerts (ends_at_ns);
