-- Instances sharing a database poll for silences changed since they last looked; the index
-- keeps that query from scanning the table.
CREATE INDEX silences_updated_at_ns ON silences (updated_at_ns);
