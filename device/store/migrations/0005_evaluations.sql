-- Operational tests (`fieldface evaluate`, device/reports/evaluate.py): what was evaluated and
-- the rates found. Counts, rates, thresholds and hashes only: never a face or an embedding.
CREATE TABLE evaluations (
    id          INTEGER PRIMARY KEY,
    created_at  TEXT NOT NULL,
    created_by  TEXT NOT NULL,
    model_id    TEXT NOT NULL,
    data_sha256 TEXT NOT NULL,          -- manifest hash of the labelled photo set
    summary     TEXT NOT NULL,          -- JSON, as printed by `fieldface evaluate --json`
    det_png     BLOB NOT NULL,          -- the DET curve, as written to --out
    scores_png  BLOB NOT NULL           -- the score histograms
);
