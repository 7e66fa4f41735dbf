-- Silences and notification-log entries as rows. The mesh column keeps the exact protobuf
-- (MeshSilence / MeshEntry) that gossip and snapshots use, so nothing a peer sent is lost;
-- the other columns are what last-writer-wins and GC need to decide without decoding it.
CREATE TABLE silences (
    id TEXT PRIMARY KEY,
    updated_at_ns BIGINT NOT NULL,
    expires_at_ns BIGINT NOT NULL,
    mesh BLOB NOT NULL
);
CREATE INDEX silences_expires_at_ns ON silences (expires_at_ns);

CREATE TABLE nflog (
    key TEXT PRIMARY KEY,
    timestamp_ns BIGINT NOT NULL,
    expires_at_ns BIGINT NOT NULL,
    mesh BLOB NOT NULL
);
CREATE INDEX nflog_expires_at_ns ON nflog (expires_at_ns);
