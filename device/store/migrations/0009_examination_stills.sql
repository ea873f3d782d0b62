-- Probes of several stills (issue 19): besides the examination's own probe (examinations.probe_image,
-- position 0), up to two more stills of the same unknown person, each kept and hashed like the probe,
-- encrypted in this database, and erased with the examination's images under retention
-- (device/workflow/retention.py). The search combines the stills' embeddings (device/workflow/stills.py).

CREATE TABLE examination_stills (
    exam_id     INTEGER NOT NULL REFERENCES examinations(id),
    position    INTEGER NOT NULL CHECK (position BETWEEN 1 AND 2),
    image       BLOB,                    -- the still, bit for bit; NULL once erased
    sha256      TEXT NOT NULL,
    format      TEXT NOT NULL,
    face_index  INTEGER NOT NULL,        -- the face of this still that is the person
    quality     INTEGER NOT NULL,        -- its unified quality score (0-100) when added
    source      TEXT NOT NULL,           -- import, or the camera that took it
    added_at    TEXT NOT NULL,
    PRIMARY KEY (exam_id, position)
);
