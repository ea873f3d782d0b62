-- Galleries the agency publishes (issue 16): read-only on the unit, changed only by verified
-- bundles and erasure orders (device/gallery/central.py). A unit's own galleries stay as they were.

-- NULL: a local gallery; else the agency key ("ed25519:<hex>") whose bundles fill it.
ALTER TABLE galleries ADD COLUMN agency TEXT;

-- Agency keys this unit accepts bundles and orders from (`fieldface gallery trust FILE`).
CREATE TABLE agency_keys (
    agency     TEXT PRIMARY KEY,          -- ed25519:<hex>
    name       TEXT NOT NULL,
    trusted_at TEXT NOT NULL,
    trusted_by TEXT NOT NULL
) WITHOUT ROWID;

-- Every bundle applied: the version never goes back (replay and rollback are refused).
CREATE TABLE central_bundles (
    gallery     TEXT NOT NULL,
    version     INTEGER NOT NULL,
    base        INTEGER NOT NULL,
    bundle_hash TEXT NOT NULL,
    digest      TEXT NOT NULL,            -- the gallery state after applying (central checks it)
    applied_at  TEXT NOT NULL,
    audit_seq   INTEGER NOT NULL,
    PRIMARY KEY (gallery, version)
) WITHOUT ROWID;

-- Every erasure order applied, with its proof (the audit entry's seq and hash).
CREATE TABLE central_orders (
    order_no    INTEGER NOT NULL,
    agency      TEXT NOT NULL,
    order_hash  TEXT NOT NULL,
    reference   TEXT NOT NULL,
    subjects    INTEGER NOT NULL,         -- how many subjects with that reference were erased here
    applied_at  TEXT NOT NULL,
    audit_seq   INTEGER NOT NULL,
    audit_hash  TEXT NOT NULL,
    PRIMARY KEY (agency, order_no)
) WITHOUT ROWID;
