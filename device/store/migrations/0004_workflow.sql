-- Users, roles, sessions and the five-step review workflow (device/workflow).
-- An examination is one probe taken through the five steps on a case; the gallery's own
-- ``cases``/``searches``/``candidates`` tables (0003) are referenced, never redefined.

CREATE TABLE users (
    id                   INTEGER PRIMARY KEY,
    username             TEXT NOT NULL UNIQUE,
    display_name         TEXT NOT NULL,
    password_hash        TEXT NOT NULL,          -- Argon2id, PHC string
    training_valid_until TEXT,                   -- YYYY-MM-DD; NULL = never trained
    active               INTEGER NOT NULL DEFAULT 1 CHECK (active IN (0, 1)),
    failed_logins        INTEGER NOT NULL DEFAULT 0,
    locked_until         TEXT,                   -- UTC ISO-8601 while locked out
    created_at           TEXT NOT NULL,
    created_by           TEXT NOT NULL
);

CREATE TABLE user_roles (
    user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    role    TEXT NOT NULL CHECK (role IN ('examiner', 'reviewer', 'supervisor', 'auditor')),
    PRIMARY KEY (user_id, role)
) WITHOUT ROWID;

-- The cookie holds a random token; only its SHA-256 is kept, so a copy of the database does not
-- hand out live sessions. ``form_secret`` signs one-time form tokens (CSRF + replay).
CREATE TABLE sessions (
    id          INTEGER PRIMARY KEY,
    token_hash  TEXT NOT NULL UNIQUE,
    user_id     INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    form_secret TEXT NOT NULL,
    created_at  TEXT NOT NULL,
    last_seen   TEXT NOT NULL
);

CREATE TABLE used_form_tokens (
    nonce      TEXT PRIMARY KEY,
    session_id INTEGER NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
    used_at    TEXT NOT NULL
) WITHOUT ROWID;
CREATE INDEX used_form_tokens_session ON used_form_tokens(session_id);

CREATE TABLE examinations (
    id                INTEGER PRIMARY KEY,
    case_id           TEXT NOT NULL REFERENCES cases(case_id),
    offense           TEXT NOT NULL,
    purpose           TEXT NOT NULL,
    examiner_id       INTEGER NOT NULL REFERENCES users(id),
    -- open (steps 1-2) -> analysis (3) -> review (4) -> concurred | dissented -> released (5);
    -- closed: the examiner found no possible lead.
    status            TEXT NOT NULL DEFAULT 'open'
                      CHECK (status IN ('open', 'analysis', 'review', 'concurred', 'dissented', 'released', 'closed')),
    probe_image       BLOB NOT NULL,            -- the original, bit for bit
    probe_sha256      TEXT NOT NULL,
    probe_format      TEXT NOT NULL,
    working_image     BLOB,                     -- the enhanced image (NULL = the original)
    working_sha256    TEXT,
    face_index        INTEGER,                  -- chosen face of the working image
    quality_override  TEXT,                     -- a supervisor's reason to search a failing probe
    override_by       INTEGER REFERENCES users(id),
    search_id         INTEGER REFERENCES searches(id),
    searched_sha256   TEXT,                     -- the bytes actually searched
    corroboration     TEXT,                     -- tier-1 notes
    lead_rank         INTEGER,                  -- the candidate put forward for review
    created_at        TEXT NOT NULL,
    updated_at        TEXT NOT NULL
);
CREATE INDEX examinations_examiner ON examinations(examiner_id);
CREATE INDEX examinations_status ON examinations(status);

CREATE TABLE enhancements (
    exam_id     INTEGER NOT NULL REFERENCES examinations(id) ON DELETE CASCADE,
    seq         INTEGER NOT NULL,
    op          TEXT NOT NULL CHECK (op IN ('crop', 'rotate', 'brightness_contrast', 'denoise', 'reset')),
    params      TEXT NOT NULL,              -- JSON
    input_sha256  TEXT NOT NULL,
    output_sha256 TEXT NOT NULL,
    by_user     INTEGER NOT NULL REFERENCES users(id),
    at          TEXT NOT NULL,
    PRIMARY KEY (exam_id, seq)
) WITHOUT ROWID;

CREATE TABLE checklists (
    exam_id INTEGER NOT NULL REFERENCES examinations(id) ON DELETE CASCADE,
    rank    INTEGER NOT NULL,
    feature TEXT NOT NULL,
    verdict TEXT NOT NULL CHECK (verdict IN ('similar', 'dissimilar', 'not-visible')),
    note    TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (exam_id, rank, feature)
) WITHOUT ROWID;

CREATE TABLE dispositions (
    exam_id     INTEGER NOT NULL REFERENCES examinations(id) ON DELETE CASCADE,
    rank        INTEGER NOT NULL,
    disposition TEXT NOT NULL CHECK (disposition IN ('possible-lead', 'excluded', 'inconclusive')),
    reason      TEXT NOT NULL,
    by_user     INTEGER NOT NULL REFERENCES users(id),
    at          TEXT NOT NULL,
    PRIMARY KEY (exam_id, rank)
) WITHOUT ROWID;

-- Tier-2 peer review: the reviewer names the candidate they see as a possible lead (or none)
-- before the examiner's conclusion is shown; concur iff it is the examiner's.
CREATE TABLE reviews (
    exam_id     INTEGER PRIMARY KEY REFERENCES examinations(id) ON DELETE CASCADE,
    reviewer_id INTEGER NOT NULL REFERENCES users(id),
    chosen_rank INTEGER,                    -- NULL: no possible lead among the candidates
    verdict     TEXT NOT NULL CHECK (verdict IN ('concur', 'dissent')),
    reason      TEXT NOT NULL,
    at          TEXT NOT NULL
);

CREATE TABLE reports (
    exam_id     INTEGER PRIMARY KEY REFERENCES examinations(id) ON DELETE CASCADE,
    released_by INTEGER NOT NULL REFERENCES users(id),
    released_at TEXT NOT NULL,
    audit_seq   INTEGER NOT NULL            -- the audit entry of the release
);
