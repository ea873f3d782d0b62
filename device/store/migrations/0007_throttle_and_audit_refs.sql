-- Login throttling (device/workflow/throttle.py): failed logins counted per account and source and
-- per source, in the same write transaction that checks them. Replaces users.failed_logins and
-- users.locked_until (left in place, no longer read: SQLite cannot drop a column cheaply).
CREATE TABLE login_throttle (
    key           TEXT PRIMARY KEY,     -- 'account:<name>@<source>' or 'source:<source>'
    failures      INTEGER NOT NULL,     -- consecutive, counted before the password is checked
    last_failure  TEXT NOT NULL,        -- UTC ISO-8601; failures older than the forget window go
    wait_until    TEXT                  -- no attempt is checked before this time
);
CREATE INDEX login_throttle_age ON login_throttle(last_failure);

-- The audit entry that recorded each examination, search and enrolled image (device/audit/crosscheck.py):
-- `audit verify` finds a log emptied or cut short while the rows it vouched for remain.
ALTER TABLE examinations ADD COLUMN audit_seq INTEGER;
ALTER TABLE searches ADD COLUMN audit_seq INTEGER;
ALTER TABLE face_images ADD COLUMN audit_seq INTEGER;
UPDATE examinations SET audit_seq =
    (SELECT min(seq) FROM audit_log WHERE action = 'exam.start' AND object = 'exam:' || examinations.id);
UPDATE searches SET audit_seq =
    (SELECT min(seq) FROM audit_log WHERE action = 'search' AND object = 'search:' || searches.id);
UPDATE face_images SET audit_seq = (SELECT min(seq) FROM audit_log WHERE action = 'gallery.enroll'
    AND object = 'subject:' || face_images.subject_id || '/image:' || face_images.id);
