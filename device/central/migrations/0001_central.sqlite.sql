-- The central store, SQLite flavour (a small agency, one receiver). Same tables as the PostgreSQL
-- flavour beside it; what differs is only how append-only is enforced (triggers written per dialect).
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
    start_seq  INTEGER NOT NULL,
    start_hash TEXT NOT NULL,
    start_prev TEXT NOT NULL,
    backup     TEXT NOT NULL,             -- JSON: what the epoch entry says about the backup
    lost_from  INTEGER,                   -- NULL: nothing central held was lost
    lost_to    INTEGER,
    started_at TEXT NOT NULL,
    PRIMARY KEY (unit, epoch)
);

CREATE TABLE audit_entries (
    unit        TEXT NOT NULL,
    epoch       INTEGER NOT NULL,
    seq         INTEGER NOT NULL,
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
    seq        INTEGER NOT NULL,
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
    seq    INTEGER NOT NULL,
    detail TEXT NOT NULL,
    via    TEXT NOT NULL
);
CREATE INDEX audit_rejects_unit ON audit_rejects(unit, at);

-- Batches that started after the head (a lost or reordered message): normal, the unit resends.
CREATE TABLE audit_gaps (
    at       TEXT NOT NULL,
    unit     TEXT NOT NULL,
    expected INTEGER NOT NULL,
    got      INTEGER NOT NULL
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

CREATE TRIGGER units_no_update BEFORE UPDATE ON units
BEGIN SELECT RAISE(ABORT, 'units is append-only: register a new card instead'); END;
CREATE TRIGGER units_no_delete BEFORE DELETE ON units
BEGIN SELECT RAISE(ABORT, 'units is append-only'); END;
CREATE TRIGGER audit_epochs_no_update BEFORE UPDATE ON audit_epochs
BEGIN SELECT RAISE(ABORT, 'audit_epochs is append-only'); END;
CREATE TRIGGER audit_epochs_no_delete BEFORE DELETE ON audit_epochs
BEGIN SELECT RAISE(ABORT, 'audit_epochs is append-only'); END;
CREATE TRIGGER audit_entries_no_update BEFORE UPDATE ON audit_entries
BEGIN SELECT RAISE(ABORT, 'audit_entries is append-only: entries cannot be changed'); END;
CREATE TRIGGER audit_entries_no_delete BEFORE DELETE ON audit_entries
BEGIN SELECT RAISE(ABORT, 'audit_entries is append-only: entries cannot be deleted'); END;
CREATE TRIGGER audit_heads_no_delete BEFORE DELETE ON audit_heads
BEGIN SELECT RAISE(ABORT, 'audit_heads: a head cannot be deleted'); END;
CREATE TRIGGER audit_heads_forward BEFORE UPDATE ON audit_heads
WHEN NEW.unit IS NOT OLD.unit OR NEW.epoch IS NOT OLD.epoch OR NEW.seq < OLD.seq
BEGIN SELECT RAISE(ABORT, 'audit_heads: a head only moves forward'); END;
CREATE TRIGGER audit_rejects_no_update BEFORE UPDATE ON audit_rejects
BEGIN SELECT RAISE(ABORT, 'audit_rejects is append-only'); END;
CREATE TRIGGER audit_rejects_no_delete BEFORE DELETE ON audit_rejects
BEGIN SELECT RAISE(ABORT, 'audit_rejects is append-only'); END;
CREATE TRIGGER audit_gaps_no_update BEFORE UPDATE ON audit_gaps
BEGIN SELECT RAISE(ABORT, 'audit_gaps is append-only'); END;
CREATE TRIGGER audit_gaps_no_delete BEFORE DELETE ON audit_gaps
BEGIN SELECT RAISE(ABORT, 'audit_gaps is append-only'); END;
CREATE TRIGGER alerts_no_update BEFORE UPDATE ON alerts
BEGIN SELECT RAISE(ABORT, 'alerts is append-only'); END;
CREATE TRIGGER alerts_no_delete BEFORE DELETE ON alerts
BEGIN SELECT RAISE(ABORT, 'alerts is append-only'); END;
CREATE TRIGGER unit_status_no_delete BEFORE DELETE ON unit_status
BEGIN SELECT RAISE(ABORT, 'unit_status: rows cannot be deleted'); END;
