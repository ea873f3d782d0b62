-- The central store, PostgreSQL flavour (an agency: several receivers, one database). Same tables
-- as the SQLite flavour beside it; what differs is only how append-only is enforced (triggers written per dialect).
-- Ids, hashes, references and the units' own signed entries only: never a face, never a name of a probe.

-- Registered units, from their cards (fieldface unit-card). A key change is a new card, never an edit.
CREATE TABLE units (
    unit      TEXT PRIMARY KEY,
    name      TEXT NOT NULL,
    audit_key TEXT NOT NULL,              -- ed25519:<hex>
    card      TEXT NOT NULL,              -- the card as received (JSON, signed by the unit)
    added_at  TEXT NOT NULL,
    added_by  TEXT NOT NULL
);

-- Epochs of a unit's chain. Epoch 0 starts at seq 1; a restored unit starts a new epoch with a
-- signed audit.epoch entry at start_seq whose link (start_prev) is the parent lineage's entry
-- start_seq - 1. Entries the parent held from start_seq on are the lost range, kept under the parent.
CREATE TABLE audit_epochs (
    unit       TEXT NOT NULL,
    epoch      INTEGER NOT NULL,
    parent     INTEGER,
    start_seq  BIGINT NOT NULL,
    start_hash TEXT NOT NULL,
    start_prev TEXT NOT NULL,
    backup     TEXT NOT NULL,             -- JSON: what the epoch entry says about the backup
    lost_from  BIGINT,                   -- NULL: nothing central held was lost
    lost_to    BIGINT,
    started_at TEXT NOT NULL,
    PRIMARY KEY (unit, epoch)
);

CREATE TABLE audit_entries (
    unit        TEXT NOT NULL,
    epoch       INTEGER NOT NULL,
    seq         BIGINT NOT NULL,
    hash        TEXT NOT NULL,
    body        TEXT NOT NULL,            -- the canonical JSON the unit hashed, byte for byte
    received_at TEXT NOT NULL,
    via         TEXT NOT NULL,            -- mqtt | file
    PRIMARY KEY (unit, epoch, seq)
);

-- The verified head of each epoch with the unit's signature over it: the only rows ever updated.
CREATE TABLE audit_heads (
    unit       TEXT NOT NULL,
    epoch      INTEGER NOT NULL,
    seq        BIGINT NOT NULL,
    hash       TEXT NOT NULL,
    sig        TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    PRIMARY KEY (unit, epoch)
);

-- What was refused (forks, forgeries, unknown units, garbage): real problems, loudly.
CREATE TABLE audit_rejects (
    at     TEXT NOT NULL,
    unit   TEXT NOT NULL,
    kind   TEXT NOT NULL,
    seq    BIGINT NOT NULL,
    detail TEXT NOT NULL,
    via    TEXT NOT NULL
);
CREATE INDEX audit_rejects_unit ON audit_rejects(unit, at);

-- Batches that started after the head (a lost or reordered message): normal, the unit resends.
CREATE TABLE audit_gaps (
    at       TEXT NOT NULL,
    unit     TEXT NOT NULL,
    expected BIGINT NOT NULL,
    got      BIGINT NOT NULL
);
CREATE INDEX audit_gaps_unit ON audit_gaps(unit, at);

-- Things a person must look at (a restored unit's lost range, ...). Acknowledging them is the
-- console's business (issue 17), in a table of its own: these rows never change.
CREATE TABLE alerts (
    at     TEXT NOT NULL,
    unit   TEXT NOT NULL,
    kind   TEXT NOT NULL,
    detail TEXT NOT NULL
);

-- What each unit last said about itself (heartbeat) and when central last heard from it at all.
CREATE TABLE unit_status (
    unit         TEXT PRIMARY KEY,
    last_contact TEXT NOT NULL,
    state        TEXT NOT NULL,           -- online | offline, as the unit (or its will) said
    reported     TEXT NOT NULL,           -- JSON: head, acked, backlog, uptime, version, disk
    reported_at  TEXT NOT NULL
);

CREATE FUNCTION fieldface_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '% is append-only: rows cannot be changed or deleted', TG_TABLE_NAME;
END $$;

-- A head may only move forward within its own unit and epoch, and never be deleted.
CREATE FUNCTION fieldface_head_forward() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP <> 'UPDATE' OR NEW.unit <> OLD.unit OR NEW.epoch <> OLD.epoch OR NEW.seq < OLD.seq THEN
        RAISE EXCEPTION '%: a head only moves forward', TG_TABLE_NAME;
    END IF;
    RETURN NEW;
END $$;

-- status rows are overwritten by every heartbeat, but never deleted.
CREATE FUNCTION fieldface_no_delete() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '%: rows cannot be deleted', TG_TABLE_NAME;
END $$;

CREATE TRIGGER units_append_only BEFORE UPDATE OR DELETE ON units
    FOR EACH ROW EXECUTE FUNCTION fieldface_append_only();
CREATE TRIGGER units_no_truncate BEFORE TRUNCATE ON units
    FOR EACH STATEMENT EXECUTE FUNCTION fieldface_append_only();
CREATE TRIGGER audit_epochs_append_only BEFORE UPDATE OR DELETE ON audit_epochs
    FOR EACH ROW EXECUTE FUNCTION fieldface_append_only();
CREATE TRIGGER audit_epochs_no_truncate BEFORE TRUNCATE ON audit_epochs
    FOR EACH STATEMENT EXECUTE FUNCTION fieldface_append_only();
CREATE TRIGGER audit_entries_append_only BEFORE UPDATE OR DELETE ON audit_entries
    FOR EACH ROW EXECUTE FUNCTION fieldface_append_only();
CREATE TRIGGER audit_entries_no_truncate BEFORE TRUNCATE ON audit_entries
    FOR EACH STATEMENT EXECUTE FUNCTION fieldface_append_only();
CREATE TRIGGER audit_rejects_append_only BEFORE UPDATE OR DELETE ON audit_rejects
    FOR EACH ROW EXECUTE FUNCTION fieldface_append_only();
CREATE TRIGGER audit_rejects_no_truncate BEFORE TRUNCATE ON audit_rejects
    FOR EACH STATEMENT EXECUTE FUNCTION fieldface_append_only();
CREATE TRIGGER audit_gaps_append_only BEFORE UPDATE OR DELETE ON audit_gaps
    FOR EACH ROW EXECUTE FUNCTION fieldface_append_only();
CREATE TRIGGER audit_gaps_no_truncate BEFORE TRUNCATE ON audit_gaps
    FOR EACH STATEMENT EXECUTE FUNCTION fieldface_append_only();
CREATE TRIGGER alerts_append_only BEFORE UPDATE OR DELETE ON alerts
    FOR EACH ROW EXECUTE FUNCTION fieldface_append_only();
CREATE TRIGGER alerts_no_truncate BEFORE TRUNCATE ON alerts
    FOR EACH STATEMENT EXECUTE FUNCTION fieldface_append_only();
CREATE TRIGGER audit_heads_forward BEFORE UPDATE OR DELETE ON audit_heads
    FOR EACH ROW EXECUTE FUNCTION fieldface_head_forward();
CREATE TRIGGER audit_heads_no_truncate BEFORE TRUNCATE ON audit_heads
    FOR EACH STATEMENT EXECUTE FUNCTION fieldface_append_only();
CREATE TRIGGER unit_status_no_delete BEFORE DELETE ON unit_status
    FOR EACH ROW EXECUTE FUNCTION fieldface_no_delete();
CREATE TRIGGER unit_status_no_truncate BEFORE TRUNCATE ON unit_status
    FOR EACH STATEMENT EXECUTE FUNCTION fieldface_no_delete();
