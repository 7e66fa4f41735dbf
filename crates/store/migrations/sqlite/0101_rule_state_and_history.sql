-- The alert generator's state: one row per rule holding its alerts (JSON written by the
-- ruler), so a restarted instance neither re-enters pending nor re-notifies; and the state
-- history, one row per alert transition with the instance that evaluated it.
-- (Version 101 keeps clear of the receiver's migrations, numbered from 1.)
CREATE TABLE rule_state (
    rule_key TEXT PRIMARY KEY,
    updated_at_ns BIGINT NOT NULL,
    data TEXT NOT NULL
);

CREATE TABLE rule_history (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    rule_key TEXT NOT NULL,
    rule_name TEXT NOT NULL,
    labels TEXT NOT NULL,
    previous TEXT NOT NULL,
    current TEXT NOT NULL,
    value DOUBLE PRECISION NOT NULL,
    at_ns BIGINT NOT NULL,
    instance TEXT NOT NULL
);
CREATE INDEX rule_history_name_at ON rule_history (rule_name, at_ns);
CREATE INDEX rule_history_at ON rule_history (at_ns);
