-- The gallery authority (issue 16): the agency's watchlists, what it published and the erasure
-- orders it issued. Images and embeddings are sealed (AES-256-GCM under a key derived from the
-- agency key, device/central/gallery/agency.py) on both dialects; here also inside SQLCipher.

CREATE TABLE central_galleries (
    name       TEXT PRIMARY KEY,
    version    INTEGER NOT NULL,          -- bumped by every change; a bundle carries it
    created_at TEXT NOT NULL
);

CREATE TABLE central_subjects (
    gallery         TEXT NOT NULL REFERENCES central_galleries(name),
    reference       TEXT NOT NULL,        -- the agency's record number: what orders name
    display_name    TEXT NOT NULL,
    category        TEXT NOT NULL,
    legal_basis     TEXT NOT NULL,
    source          TEXT NOT NULL,
    retain_until    TEXT,
    enrolled_by     TEXT NOT NULL,
    enrolled_at     TEXT NOT NULL,
    changed_version INTEGER NOT NULL,     -- the gallery version of its last change (deltas)
    removed_version INTEGER,              -- set when erased: a delta then says "remove"
    PRIMARY KEY (gallery, reference)
);

CREATE TABLE central_images (
    gallery   TEXT NOT NULL,
    reference TEXT NOT NULL,
    sha256    TEXT NOT NULL,
    meta      TEXT NOT NULL,              -- JSON: format, width, height, face_index, quality
    model_id  TEXT NOT NULL,
    image     BLOB NOT NULL,              -- sealed
    embedding BLOB NOT NULL,              -- sealed
    added_at  TEXT NOT NULL,
    PRIMARY KEY (gallery, sha256)
);
CREATE INDEX central_images_subject ON central_images(gallery, reference);

-- Erasure orders as signed and sent: never changed, never deleted.
CREATE TABLE central_orders (
    order_no   INTEGER PRIMARY KEY,
    gallery    TEXT NOT NULL,             -- '*' when central held no subject with the reference
    reference  TEXT NOT NULL,
    reason     TEXT NOT NULL,
    agency     TEXT NOT NULL,
    order_hash TEXT NOT NULL,
    envelope   TEXT NOT NULL,             -- {"manifest", "sig"}
    issued_at  TEXT NOT NULL,
    issued_by  TEXT NOT NULL
);

CREATE TABLE central_publications (
    gallery      TEXT NOT NULL,
    version      INTEGER NOT NULL,
    base         INTEGER NOT NULL,
    bundle_hash  TEXT NOT NULL,
    units        TEXT NOT NULL,           -- JSON list of the units it was wrapped for
    bytes        INTEGER NOT NULL,
    digest       TEXT NOT NULL,           -- the state a unit holding it should report
    via          TEXT NOT NULL,           -- file | mqtt
    published_at TEXT NOT NULL,
    published_by TEXT NOT NULL
);

-- The gallery authority's own audit chain: every enrollment, erasure and publication, hash-linked.
CREATE TABLE gallery_log (
    seq     INTEGER PRIMARY KEY,
    at      TEXT NOT NULL,
    actor   TEXT NOT NULL,
    action  TEXT NOT NULL,
    object  TEXT NOT NULL,
    details TEXT NOT NULL,
    prev    TEXT NOT NULL,
    hash    TEXT NOT NULL
);

CREATE TRIGGER central_orders_no_update BEFORE UPDATE ON central_orders
BEGIN SELECT RAISE(ABORT, 'central_orders is append-only'); END;
CREATE TRIGGER central_orders_no_delete BEFORE DELETE ON central_orders
BEGIN SELECT RAISE(ABORT, 'central_orders is append-only'); END;
CREATE TRIGGER central_publications_no_update BEFORE UPDATE ON central_publications
BEGIN SELECT RAISE(ABORT, 'central_publications is append-only'); END;
CREATE TRIGGER central_publications_no_delete BEFORE DELETE ON central_publications
BEGIN SELECT RAISE(ABORT, 'central_publications is append-only'); END;
CREATE TRIGGER gallery_log_no_update BEFORE UPDATE ON gallery_log
BEGIN SELECT RAISE(ABORT, 'gallery_log is append-only'); END;
CREATE TRIGGER gallery_log_no_delete BEFORE DELETE ON gallery_log
BEGIN SELECT RAISE(ABORT, 'gallery_log is append-only'); END;
