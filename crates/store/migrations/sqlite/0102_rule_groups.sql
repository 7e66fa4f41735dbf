-- Expression-rule groups managed through the rules API: the current definition of each
-- (folder, group) with its version, and every version ever written (an empty body records a
-- deletion), so that edits can be audited and concurrent edits detected.
CREATE TABLE rule_groups (
    folder TEXT NOT NULL,
    name TEXT NOT NULL,
    version BIGINT NOT NULL,
    body TEXT NOT NULL,
    updated_at_ns BIGINT NOT NULL,
    PRIMARY KEY (folder, name)
);

CREATE TABLE rule_group_versions (
    folder TEXT NOT NULL,
    name TEXT NOT NULL,
    version BIGINT NOT NULL,
    body TEXT NOT NULL,
    updated_at_ns BIGINT NOT NULL,
    PRIMARY KEY (folder, name, version)
);
