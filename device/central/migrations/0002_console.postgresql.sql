-- The central console (issue 17), PostgreSQL flavour: see the SQLite file beside it for the why.
-- The console connects as its own role (device/central/console_roles.py): a member of the auditor
-- role (SELECT only on everything the receivers write) that may also write these tables alone.

CREATE TABLE users (
    id                   BIGSERIAL PRIMARY KEY,
    username             TEXT NOT NULL UNIQUE,
    display_name         TEXT NOT NULL,
    password_hash        TEXT NOT NULL,
    training_valid_until TEXT,
    active               INTEGER NOT NULL DEFAULT 1,
    created_at           TEXT NOT NULL,
    created_by           TEXT NOT NULL
);
CREATE TABLE user_roles (
    user_id BIGINT NOT NULL REFERENCES users(id),
    role    TEXT NOT NULL CHECK (role IN ('auditor', 'supervisor', 'admin')),
    PRIMARY KEY (user_id, role)
);
CREATE TABLE sessions (
    id          BIGSERIAL PRIMARY KEY,
    token_hash  TEXT NOT NULL UNIQUE,
    user_id     BIGINT NOT NULL REFERENCES users(id),
    form_secret TEXT NOT NULL,
    created_at  TEXT NOT NULL,
    last_seen   TEXT NOT NULL
);
CREATE TABLE used_form_tokens (
    nonce      TEXT PRIMARY KEY,
    session_id BIGINT NOT NULL,
    used_at    TEXT NOT NULL
);
CREATE TABLE login_throttle (
    key          TEXT PRIMARY KEY,
    failures     INTEGER NOT NULL,
    last_failure TEXT NOT NULL,
    wait_until   TEXT
);
CREATE TABLE console_log (
    seq    BIGINT PRIMARY KEY,
    at     TEXT NOT NULL,
    actor  TEXT NOT NULL,
    action TEXT NOT NULL,
    body   TEXT NOT NULL,
    hash   TEXT NOT NULL
);
CREATE TABLE alert_acks (
    alert_key TEXT PRIMARY KEY,
    at        TEXT NOT NULL,
    by_user   TEXT NOT NULL,
    note      TEXT NOT NULL,
    log_seq   BIGINT NOT NULL
);
CREATE TABLE alerts_raised (
    alert_key TEXT PRIMARY KEY,
    at        TEXT NOT NULL,
    unit      TEXT NOT NULL,
    kind      TEXT NOT NULL,
    detail    TEXT NOT NULL
);

CREATE INDEX audit_entries_at ON audit_entries(((body::jsonb) ->> 'at'));
CREATE INDEX audit_entries_unit_at ON audit_entries(unit, ((body::jsonb) ->> 'at'));
CREATE INDEX audit_entries_action_at ON audit_entries(((body::jsonb) ->> 'action'), ((body::jsonb) ->> 'at'));
CREATE INDEX audit_entries_actor_at ON audit_entries(((body::jsonb) ->> 'actor'), ((body::jsonb) ->> 'at'));

CREATE TRIGGER console_log_append_only BEFORE UPDATE OR DELETE ON console_log
    FOR EACH ROW EXECUTE FUNCTION fieldface_append_only();
CREATE TRIGGER console_log_no_truncate BEFORE TRUNCATE ON console_log
    FOR EACH STATEMENT EXECUTE FUNCTION fieldface_append_only();
CREATE TRIGGER alert_acks_append_only BEFORE UPDATE OR DELETE ON alert_acks
    FOR EACH ROW EXECUTE FUNCTION fieldface_append_only();
CREATE TRIGGER alert_acks_no_truncate BEFORE TRUNCATE ON alert_acks
    FOR EACH STATEMENT EXECUTE FUNCTION fieldface_append_only();
CREATE TRIGGER alerts_raised_append_only BEFORE UPDATE OR DELETE ON alerts_raised
    FOR EACH ROW EXECUTE FUNCTION fieldface_append_only();
CREATE TRIGGER alerts_raised_no_truncate BEFORE TRUNCATE ON alerts_raised
    FOR EACH STATEMENT EXECUTE FUNCTION fieldface_append_only();
