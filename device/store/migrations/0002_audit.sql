-- The audit log: append-only, hash-chained (device/audit). ``body`` is the canonical JSON that is
-- hashed and exported byte for byte; the other columns repeat a few of its fields for queries.
-- Nothing biometric goes in here: ids and hashes only (device/audit/entry.py enforces limits).
CREATE TABLE audit_log (
    seq      INTEGER PRIMARY KEY,      -- 1, 2, 3 ... without gaps
    at       TEXT NOT NULL,            -- UTC ISO-8601
    actor    TEXT NOT NULL,
    role     TEXT NOT NULL,
    action   TEXT NOT NULL,
    object   TEXT,
    case_id  TEXT,
    outcome  TEXT NOT NULL,
    body     TEXT NOT NULL,            -- canonical JSON, includes seq, prev and every field
    hash     BLOB NOT NULL             -- SHA-256 of body
);
CREATE INDEX audit_log_case ON audit_log(case_id) WHERE case_id IS NOT NULL;
CREATE INDEX audit_log_action ON audit_log(action, at);

-- One signed head per commit: Ed25519 over (device, seq, hash of entry seq). Entries cut from the
-- end of the log leave checkpoints that point past it (see device/audit/verify.py).
CREATE TABLE audit_checkpoint (
    seq  INTEGER PRIMARY KEY,
    hash BLOB NOT NULL,
    sig  BLOB NOT NULL,
    at   TEXT NOT NULL
);

-- The database itself refuses to change history, whoever the caller is.
CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
BEGIN SELECT RAISE(ABORT, 'audit_log is append-only: entries cannot be changed'); END;
CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
BEGIN SELECT RAISE(ABORT, 'audit_log is append-only: entries cannot be deleted'); END;
CREATE TRIGGER audit_checkpoint_no_update BEFORE UPDATE ON audit_checkpoint
BEGIN SELECT RAISE(ABORT, 'audit_checkpoint is append-only'); END;
CREATE TRIGGER audit_checkpoint_no_delete BEFORE DELETE ON audit_checkpoint
BEGIN SELECT RAISE(ABORT, 'audit_checkpoint is append-only'); END;

-- Store-and-forward cursor per destination: the highest seq the central receiver has stored,
-- verified and acknowledged, with its hash (so a later rewrite of acked history is detected).
CREATE TABLE audit_sync (
    destination TEXT PRIMARY KEY,
    acked_seq   INTEGER NOT NULL,
    acked_hash  BLOB NOT NULL,
    updated_at  TEXT NOT NULL
) WITHOUT ROWID;
