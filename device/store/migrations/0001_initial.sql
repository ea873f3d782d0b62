-- Facts about this data dir: device id, creation time, software version that made it.
CREATE TABLE meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
) WITHOUT ROWID;

-- Policy settings a supervisor changes at run time (config.toml holds the start-up defaults).
CREATE TABLE settings (
    key        TEXT PRIMARY KEY,
    value      TEXT NOT NULL,          -- JSON
    updated_at TEXT NOT NULL,          -- UTC ISO-8601
    updated_by TEXT NOT NULL
) WITHOUT ROWID;
