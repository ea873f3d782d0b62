-- The central console (issue 17): its own accounts, sessions and login throttle (the unit's tables
-- and names, so device/workflow/sessions.py, throttle.py and users.py run unchanged over them),
-- alert acknowledgements and the console's own hash-chained log. Plus indexes over the fields of
-- the units' entries the console filters on (expression indexes: the receivers write nothing new).

CREATE TABLE users (
    id                   INTEGER PRIMARY KEY,
    username             TEXT NOT NULL UNIQUE,
    display_name         TEXT NOT NULL,
    password_hash        TEXT NOT NULL,
    training_valid_until TEXT,
    active               INTEGER NOT NULL DEFAULT 1,
    created_at           TEXT NOT NULL,
    created_by           TEXT NOT NULL
);
CREATE TABLE user_roles (
    user_id INTEGER NOT NULL REFERENCES users(id),
    role    TEXT NOT NULL CHECK (role IN ('auditor', 'supervisor', 'admin')),
    PRIMARY KEY (user_id, role)
);
CREATE TABLE sessions (
    id          INTEGER PRIMARY KEY,
    token_hash  TEXT NOT NULL UNIQUE,
    user_id     INTEGER NOT NULL REFERENCES users(id),
    form_secret TEXT NOT NULL,
    created_at  TEXT NOT NULL,
    last_seen   TEXT NOT NULL
);
CREATE TABLE used_form_tokens (
    nonce      TEXT PRIMARY KEY,
    session_id INTEGER NOT NULL,
    used_at    TEXT NOT NULL
);
CREATE TABLE login_throttle (
    key          TEXT PRIMARY KEY,
    failures     INTEGER NOT NULL,
    last_failure TEXT NOT NULL,
    wait_until   TEXT
);

-- The console's own actions, chained like a unit's log (body = canonical JSON, hash = SHA-256).
CREATE TABLE console_log (
    seq    INTEGER PRIMARY KEY,
    at     TEXT NOT NULL,
    actor  TEXT NOT NULL,
    action TEXT NOT NULL,
    body   TEXT NOT NULL,
    hash   TEXT NOT NULL
);

-- An alert is named by a key made from what raised it; acknowledging is a row, never an edit.
CREATE TABLE alert_acks (
    alert_key TEXT PRIMARY KEY,
    at        TEXT NOT NULL,
    by_user   TEXT NOT NULL,
    note      TEXT NOT NULL,
    log_seq   INTEGER NOT NULL
);
-- Alerts the console has raised (published and logged once each).
CREATE TABLE alerts_raised (
    alert_key TEXT PRIMARY KEY,
    at        TEXT NOT NULL,
    unit      TEXT NOT NULL,
    kind      TEXT NOT NULL,
    detail    TEXT NOT NULL
);

CREATE INDEX audit_entries_at ON audit_entries(json_extract(body, '$.at'));
CREATE INDEX audit_entries_unit_at ON audit_entries(unit, json_extract(body, '$.at'));
CREATE INDEX audit_entries_action_at ON audit_entries(json_extract(body, '$.action'), json_extract(body, '$.at'));
CREATE INDEX audit_entries_actor_at ON audit_entries(json_extract(body, '$.actor'), json_extract(body, '$.at'));

CREATE TRIGGER console_log_no_update BEFORE UPDATE ON console_log
BEGIN SELECT RAISE(ABORT, 'console_log is append-only: rows cannot be changed or deleted'); END;
CREATE TRIGGER console_log_no_delete BEFORE DELETE ON console_log
BEGIN SELECT RAISE(ABORT, 'console_log is append-only: rows cannot be changed or deleted'); END;
CREATE TRIGGER alert_acks_no_update BEFORE UPDATE ON alert_acks
BEGIN SELECT RAISE(ABORT, 'alert_acks is append-only: rows cannot be changed or deleted'); END;
CREATE TRIGGER alert_acks_no_delete BEFORE DELETE ON alert_acks
BEGIN SELECT RAISE(ABORT, 'alert_acks is append-only: rows cannot be changed or deleted'); END;
CREATE TRIGGER alerts_raised_no_update BEFORE UPDATE ON alerts_raised
BEGIN SELECT RAISE(ABORT, 'alerts_raised is append-only: rows cannot be changed or deleted'); END;
CREATE TRIGGER alerts_raised_no_delete BEFORE DELETE ON alerts_raised
BEGIN SELECT RAISE(ABORT, 'alerts_raised is append-only: rows cannot be changed or deleted'); END;
