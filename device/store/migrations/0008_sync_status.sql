-- What the sync service last met, for `fieldface status` (another process than the sync service):
-- when the receiver last acknowledged anything, and the last problem (a rejection, a fork, a log
-- that ends before what the receiver holds) with its time. Kept after it clears: "last problem".
CREATE TABLE sync_status (
    destination TEXT PRIMARY KEY,
    last_ack_at TEXT,
    problem     TEXT,
    problem_at  TEXT
) WITHOUT ROWID;
