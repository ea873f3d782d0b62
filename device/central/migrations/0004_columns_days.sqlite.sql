-- The central store at fleet scale (issue 17), SQLite flavour: see the PostgreSQL file beside it.
-- SQLite can only add VIRTUAL generated columns to a table; indexed, they are read from the index.

DROP INDEX audit_entries_at;
DROP INDEX audit_entries_unit_at;
DROP INDEX audit_entries_action_at;
DROP INDEX audit_entries_actor_at;

ALTER TABLE audit_entries ADD COLUMN at TEXT GENERATED ALWAYS AS (json_extract(body, '$.at')) VIRTUAL;
ALTER TABLE audit_entries ADD COLUMN action TEXT GENERATED ALWAYS AS (json_extract(body, '$.action')) VIRTUAL;
ALTER TABLE audit_entries ADD COLUMN actor TEXT GENERATED ALWAYS AS (json_extract(body, '$.actor')) VIRTUAL;
ALTER TABLE audit_entries ADD COLUMN case_ref TEXT GENERATED ALWAYS AS (json_extract(body, '$.case')) VIRTUAL;
ALTER TABLE audit_entries ADD COLUMN outcome TEXT GENERATED ALWAYS AS (json_extract(body, '$.outcome')) VIRTUAL;

CREATE INDEX audit_entries_at ON audit_entries(at);
CREATE INDEX audit_entries_unit_at ON audit_entries(unit, at);
CREATE INDEX audit_entries_action_at ON audit_entries(action, at);
CREATE INDEX audit_entries_actor_at ON audit_entries(actor, at);
CREATE INDEX audit_entries_case_at ON audit_entries(case_ref, at) WHERE case_ref IS NOT NULL;

CREATE TABLE audit_days (
    unit       TEXT NOT NULL,
    day        TEXT NOT NULL,
    entries    INTEGER NOT NULL,
    tally      TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    PRIMARY KEY (unit, day)
);
CREATE INDEX audit_days_day ON audit_days(day);

CREATE TRIGGER audit_days_no_delete BEFORE DELETE ON audit_days
BEGIN SELECT RAISE(ABORT, 'audit_days: rows cannot be deleted'); END;
