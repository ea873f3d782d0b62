-- The gallery authority (issue 16): the agency's watchlists, what it published and the erasure
-- orders it issued. Images and embeddings are sealed (AES-256-GCM under a key derived from the
-- agency key, device/central/gallery/agency.py) on both dialects; in SQLite also inside SQLCipher.

CREATE TABLE central_galleries (
    name       TEXT PRIMARY KEY,
    version    BIGINT NOT NULL,           -- bumped by every change; a bundle carries it
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
    changed_version BIGINT NOT NULL,     -- the gallery version of its last change (deltas)
    removed_version BIGINT,              -- set when erased: a delta then says "remove"
    PRIMARY KEY (gallery, reference)
);

CREATE TABLE central_images (
    gallery   TEXT NOT NULL,
    reference TEXT NOT NULL,
    sha256    TEXT NOT NULL,
    meta      TEXT NOT NULL,              -- JSON: format, width, height, face_index, quality
    model_id  TEXT NOT NULL,
    image     BYTEA NOT NULL,              -- sealed
    embedding BYTEA NOT NULL,              -- sealed
    added_at  TEXT NOT NULL,
    PRIMARY KEY (gallery, sha256)
);
CREATE INDEX central_images_subject ON central_images(gallery, reference);

-- Erasure orders as signed and sent: never changed, never deleted.
CREATE TABLE central_orders (
    order_no   BIGINT PRIMARY KEY,
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
    version      BIGINT NOT NULL,
    base         BIGINT NOT NULL,
    bundle_hash  TEXT NOT NULL,
    units        TEXT NOT NULL,           -- JSON list of the units it was wrapped for
    bytes        BIGINT NOT NULL,
    digest       TEXT NOT NULL,           -- the state a unit holding it should report
    via          TEXT NOT NULL,           -- file | mqtt
    published_at TEXT NOT NULL,
    published_by TEXT NOT NULL
);

-- The gallery authority's own audit chain: every enrollment, erasure and publication, hash-linked.
CREATE TABLE gallery_log (
    seq     BIGINT PRIMARY KEY,
    at      TEXT NOT NULL,
    actor   TEXT NOT NULL,
    action  TEXT NOT NULL,
    object  TEXT NOT NULL,
    details TEXT NOT NULL,
    prev    TEXT NOT NULL,
    hash    TEXT NOT NULL
);

CREATE TRIGGER central_orders_append_only BEFORE UPDATE OR DELETE ON central_orders
    FOR EACH ROW EXECUTE FUNCTION fieldface_append_only();
CREATE TRIGGER central_orders_no_truncate BEFORE TRUNCATE ON central_orders
    FOR EACH STATEMENT EXECUTE FUNCTION fieldface_append_only();
CREATE TRIGGER central_publications_append_only BEFORE UPDATE OR DELETE ON central_publications
    FOR EACH ROW EXECUTE FUNCTION fieldface_append_only();
CREATE TRIGGER gallery_log_append_only BEFORE UPDATE OR DELETE ON gallery_log
    FOR EACH ROW EXECUTE FUNCTION fieldface_append_only();
CREATE TRIGGER gallery_log_no_truncate BEFORE TRUNCATE ON gallery_log
    FOR EACH STATEMENT EXECUTE FUNCTION fieldface_append_only();
