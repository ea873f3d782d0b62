-- Galleries (watchlists), subjects, their face images and embeddings; cases and searches.
-- Every personal field lives here, inside SQLCipher; the vector index in cache/ is a sealed copy
-- of the embeddings that can always be rebuilt from this database (device/gallery/index.py).

CREATE TABLE galleries (
    id          INTEGER PRIMARY KEY,
    name        TEXT NOT NULL UNIQUE,
    description TEXT NOT NULL DEFAULT '',
    created_at  TEXT NOT NULL,
    -- Bumped by every mutation of the gallery's contents; searches record the version they saw,
    -- and the sealed index names the version it holds.
    version     INTEGER NOT NULL DEFAULT 0
);

CREATE TABLE subjects (
    id           INTEGER PRIMARY KEY,
    gallery_id   INTEGER NOT NULL REFERENCES galleries(id),
    display_name TEXT NOT NULL,
    reference    TEXT,                  -- external reference (record number); unique per gallery
    category     TEXT NOT NULL DEFAULT '',
    legal_basis  TEXT NOT NULL,         -- why the agency may hold this person's face
    source       TEXT NOT NULL DEFAULT '',
    enrolled_by  TEXT NOT NULL,
    enrolled_at  TEXT NOT NULL,
    retain_until TEXT                   -- YYYY-MM-DD; NULL = until deleted by hand
);
CREATE UNIQUE INDEX subjects_reference ON subjects(gallery_id, reference) WHERE reference IS NOT NULL;
CREATE INDEX subjects_retain ON subjects(retain_until) WHERE retain_until IS NOT NULL;

CREATE TABLE face_images (
    id           INTEGER PRIMARY KEY,
    subject_id   INTEGER NOT NULL REFERENCES subjects(id) ON DELETE CASCADE,
    gallery_id   INTEGER NOT NULL REFERENCES galleries(id),
    sha256       TEXT NOT NULL,
    format       TEXT NOT NULL,
    width        INTEGER NOT NULL,
    height       INTEGER NOT NULL,
    face_index   INTEGER NOT NULL,
    quality      TEXT NOT NULL,         -- JSON quality report at enrollment
    forced       TEXT,                  -- reason recorded when enrolled below the quality bar
    image        BLOB NOT NULL,         -- the original bytes, as received
    added_by     TEXT NOT NULL,
    added_at     TEXT NOT NULL
);
-- One copy of an image per gallery: a re-run manifest changes nothing.
CREATE UNIQUE INDEX face_images_sha ON face_images(gallery_id, sha256);
CREATE INDEX face_images_subject ON face_images(subject_id);

CREATE TABLE embeddings (
    id         INTEGER PRIMARY KEY,     -- also the key in the vector index
    image_id   INTEGER NOT NULL REFERENCES face_images(id) ON DELETE CASCADE,
    gallery_id INTEGER NOT NULL REFERENCES galleries(id),
    model_id   TEXT NOT NULL,
    vector     BLOB NOT NULL            -- float32 little-endian, unit length
);
CREATE INDEX embeddings_gallery_model ON embeddings(gallery_id, model_id);
CREATE INDEX embeddings_image ON embeddings(image_id);

CREATE TABLE cases (
    case_id     TEXT PRIMARY KEY,
    created_at  TEXT NOT NULL,
    created_by  TEXT NOT NULL,
    legal_hold  INTEGER NOT NULL DEFAULT 0 CHECK (legal_hold IN (0, 1))
) WITHOUT ROWID;

CREATE TABLE searches (
    id              INTEGER PRIMARY KEY,
    case_id         TEXT NOT NULL REFERENCES cases(case_id),
    offense         TEXT NOT NULL,
    purpose         TEXT NOT NULL,      -- legal authority / purpose as stated by the user
    gallery_id      INTEGER NOT NULL REFERENCES galleries(id),
    gallery_version INTEGER NOT NULL,
    model_id        TEXT NOT NULL,
    probe_sha256    TEXT NOT NULL,
    probe_format    TEXT NOT NULL,
    probe_image     BLOB,               -- NULL once purged
    face_index      INTEGER NOT NULL,
    face_box        TEXT NOT NULL,      -- JSON [x0, y0, x1, y1]
    quality         TEXT NOT NULL,      -- JSON quality report of the chosen face
    quality_override TEXT,              -- reason, when a failing probe was searched anyway
    top_k           INTEGER NOT NULL,
    worth_examining REAL NOT NULL,      -- the line in force for this search
    actor           TEXT NOT NULL,
    role            TEXT NOT NULL,
    started_at      TEXT NOT NULL,
    finished_at     TEXT NOT NULL,
    retain_until    TEXT NOT NULL,      -- the probe's retention (YYYY-MM-DD)
    purged_at       TEXT
);
CREATE INDEX searches_case ON searches(case_id);
CREATE INDEX searches_retain ON searches(retain_until) WHERE probe_image IS NOT NULL;

-- The ranked list as shown. Subject and image ids are kept without foreign keys on purpose:
-- erasing a subject must not erase the record that a search once listed it (no names kept here).
CREATE TABLE candidates (
    search_id    INTEGER NOT NULL REFERENCES searches(id),
    rank         INTEGER NOT NULL,
    subject_id   INTEGER NOT NULL,
    image_id     INTEGER NOT NULL,
    embedding_id INTEGER NOT NULL,
    score        REAL NOT NULL,
    PRIMARY KEY (search_id, rank)
) WITHOUT ROWID;
