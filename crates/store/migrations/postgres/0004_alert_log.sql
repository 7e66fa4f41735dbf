-- Accepted alerts as the writer commits them: one row per group commit, its body every alert
-- of the commit in a compact binary encoding (store::alert_log). Appending costs a few
-- sequential page writes where an upsert per alert paid a random-key index update each; the
-- maintenance snapshot folds the rows into `alerts` and deletes them.
CREATE TABLE alert_log (
    id BIGSERIAL PRIMARY KEY,
    body BYTEA NOT NULL
);
