-- Retention reaches the workflow's copies of a probe (device/workflow/retention.py): an
-- examination's original and enhanced images are erased past ``search.probe_retain_days``
-- (except cases on legal hold) while the record itself stays readable, saying when.
-- SQLite cannot drop a NOT NULL in place, so the table is rebuilt (the runner switches foreign
-- keys off for the copy and checks them before committing); its indexes are made again.

CREATE TABLE examinations_new (
    id                INTEGER PRIMARY KEY,
    case_id           TEXT NOT NULL REFERENCES cases(case_id),
    offense           TEXT NOT NULL,
    purpose           TEXT NOT NULL,
    examiner_id       INTEGER NOT NULL REFERENCES users(id),
    status            TEXT NOT NULL DEFAULT 'open'
                      CHECK (status IN ('open', 'analysis', 'review', 'concurred', 'dissented', 'released', 'closed')),
    probe_image       BLOB,                     -- the original, bit for bit; NULL once erased
    probe_sha256      TEXT NOT NULL,
    probe_format      TEXT NOT NULL,
    working_image     BLOB,                     -- the enhanced image (NULL = the original, or erased)
    working_sha256    TEXT,
    face_index        INTEGER,
    quality_override  TEXT,
    override_by       INTEGER REFERENCES users(id),
    search_id         INTEGER REFERENCES searches(id),
    searched_sha256   TEXT,
    corroboration     TEXT,
    lead_rank         INTEGER,
    created_at        TEXT NOT NULL,
    updated_at        TEXT NOT NULL,
    images_erased_at  TEXT,                     -- UTC instant the images were erased under retention
    CHECK ((probe_image IS NULL) = (images_erased_at IS NOT NULL))
);
INSERT INTO examinations_new (id, case_id, offense, purpose, examiner_id, status, probe_image, probe_sha256,
    probe_format, working_image, working_sha256, face_index, quality_override, override_by, search_id,
    searched_sha256, corroboration, lead_rank, created_at, updated_at)
SELECT id, case_id, offense, purpose, examiner_id, status, probe_image, probe_sha256, probe_format,
    working_image, working_sha256, face_index, quality_override, override_by, search_id, searched_sha256,
    corroboration, lead_rank, created_at, updated_at FROM examinations;
DROP TABLE examinations;
ALTER TABLE examinations_new RENAME TO examinations;
CREATE INDEX examinations_examiner ON examinations(examiner_id);
CREATE INDEX examinations_status ON examinations(status);
-- The purge looks for held images by age.
CREATE INDEX examinations_images ON examinations(created_at) WHERE probe_image IS NOT NULL;
