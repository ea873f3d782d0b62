"""Step 1's stills: the burst still the officer keeps, and probes of several stills of one person.

**Burst.** Capture keeps the best still of a burst (device/camera/burst.py); until anything else
happens to the examination (no edit, no search) the officer may use another still of that burst
instead: ``use_burst_still`` replaces the probe (the replaced one is overwritten, both hashes are
in the ``exam.probe_still`` audit entry).

**Several stills.** An examiner may add up to two more stills of the same unknown person (another
still of the burst, or frames of a video the agency holds, imported as files) before the search.
Each is kept bit for bit, encrypted, with its SHA-256 (``examination_stills``), analysed and judged
like the probe, audited (``exam.still_add``) and erased with the examination's images.

The search then uses one probe vector, the **quality-weighted mean** of the stills' embeddings::

    w_i = max(q_i, 1) / 100          q_i: the still's unified quality score (0-100)
    v   = sum_i w_i e_i / || sum_i w_i e_i ||     (L2-normalised, as every SFace vector)

The unified score predicts the share of identity signal a photo keeps (device/vision/quality.py),
so a blurred or dark still pulls the mean less than a clean one, and none is ignored outright. The
mean of unit vectors of one identity points closer to that identity's centre than any single one
(the noise of each photo partly cancels), while an impostor's cosine to it stays about the mean of
the impostor's cosines (measured: scripts/measure_combined.py, figures in README). Only the
examination's own probe (position 0) can be enhanced; the added stills are searched as taken.
Every still must pass the quality gate, or a supervisor records an override.
"""

from __future__ import annotations

import hashlib
import json

import numpy as np

from device.audit import Draft
from device.errors import ErasedError, ModelError, NotAllowedError, StepError, UsageError
from device.workflow.cases import analysis_of, get, load_for, may_see_images, owned
from device.workflow.probe import chosen_face
from device.workflow.users import User, require_role, require_trained, utc

MAX_STILLS = 3  # the probe and two more
METHOD = "quality-weighted mean of the stills' embeddings, w = max(unified, 1) / 100, L2-normalised"
COLUMNS = ("position", "sha256", "format", "face_index", "quality", "source", "added_at", "held")


def use_burst_still(wf, user: User, exam_id: int, probe: bytes, burst: dict):
    """Use another still of the examination's burst as its probe (before any edit or search)."""
    require_role(user, "examiner")
    require_trained(user, wf.today())
    sha = hashlib.sha256(probe).hexdigest()
    analysis = analysis_of(wf, probe, sha)  # NoFaceError before anything changes
    with wf.store.connection() as conn, wf.store.transaction(conn):
        exam = owned(conn, user, exam_id, "open")
        if exam.working_sha256 is not None:
            raise StepError("the probe was already enhanced: start a new search to use another still")
        face = 0 if len(analysis.faces) == 1 else None
        conn.execute(
            "UPDATE examinations SET probe_image = ?, probe_sha256 = ?, probe_format = ?, face_index = ?,"
            " updated_at = ? WHERE id = ?",
            (probe, sha, analysis.format, face, utc(wf.now()), exam_id),
        )
        details = {"probe_sha256": sha, "replaced_sha256": exam.probe_sha256, "faces": len(analysis.faces),
                   "burst": burst}  # fmt: skip
        wf.audit.append_in(conn, [Draft("exam.probe_still", user.username, "examiner", f"exam:{exam_id}",
                                        exam.case_id, details=details)])  # fmt: skip
        updated = get(conn, exam_id)
    wf.analyses.drop(exam.probe_sha256)
    return updated


def rows(conn, exam_id: int) -> list[dict]:
    found = conn.execute(
        "SELECT position, sha256, format, face_index, quality, source, added_at, image IS NOT NULL"
        " FROM examination_stills WHERE exam_id = ? ORDER BY position",
        (exam_id,),
    ).fetchall()
    return [dict(zip(COLUMNS, row, strict=True)) | {"held": bool(row[-1])} for row in found]


def add(wf, user: User, exam_id: int, data: bytes, source: str = "import", face_index: int | None = None) -> list:
    """Add a still of the same person to the examination's probe; returns the stills held."""
    require_role(user, "examiner")
    require_trained(user, wf.today())
    if not data:
        raise UsageError("a still is required: a photo of the same person (JPEG or PNG)")
    sha = hashlib.sha256(data).hexdigest()
    analysis = analysis_of(wf, data, sha)
    face = analysis.faces[chosen_face(analysis, face_index)]
    with wf.store.connection() as conn, wf.store.transaction(conn):
        exam = owned(conn, user, exam_id, "open")
        held = rows(conn, exam_id)
        if len(held) + 1 >= MAX_STILLS:
            raise UsageError(f"a probe combines at most {MAX_STILLS} stills of one person")
        if sha in {exam.probe_sha256, *(s["sha256"] for s in held)}:
            raise UsageError("this still is already part of the probe")
        position = len(held) + 1
        conn.execute(
            "INSERT INTO examination_stills(exam_id, position, image, sha256, format, face_index, quality, source,"
            " added_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (exam_id, position, data, sha, analysis.format, face.index, face.quality.unified, source[:100],
             utc(wf.now())),
        )  # fmt: skip
        details = {"position": position, "sha256": sha, "face_index": face.index, "quality": face.quality.verdict,
                   "unified": face.quality.unified, "source": source[:100]}  # fmt: skip
        wf.audit.append_in(conn, [Draft("exam.still_add", user.username, "examiner", f"exam:{exam_id}",
                                        exam.case_id, details=details)])  # fmt: skip
        return rows(conn, exam_id)


def listed(wf, user: User, exam_id: int) -> list[dict]:
    """The examination's added stills (position 1 and 2), each with its current quality judgement."""
    load_for(wf, user, exam_id)
    with wf.store.connection() as conn:
        return rows(conn, exam_id)


def still_bytes(conn, exam_id: int, position: int) -> bytes:
    row = conn.execute("SELECT image FROM examination_stills WHERE exam_id = ? AND position = ?",
                       (exam_id, position)).fetchone()  # fmt: skip
    if row is None:
        raise UsageError(f"no still {position} in case examination {exam_id}")
    if row[0] is None:
        raise ErasedError(f"the images of case examination {exam_id} were erased under the retention policy")
    return bytes(row[0])


def image_for(wf, user: User, exam_id: int, position: int) -> bytes:
    with wf.store.connection() as conn:
        exam = get(conn, exam_id)
        if not may_see_images(user, exam):
            raise NotAllowedError(f"case examination {exam_id} belongs to another user: refused")
        return still_bytes(conn, exam_id, position)


def for_search(wf, policy, exam_id: int) -> list[tuple[dict, object]]:
    """The added stills with their chosen face judged by the policy: ``[(row, face)]``."""
    with wf.store.connection() as conn:
        held = [(row, still_bytes(conn, exam_id, row["position"])) for row in rows(conn, exam_id)]
    return [(row, policy.judged(wf.analyses.analysis(data, row["sha256"])).faces[row["face_index"]])
            for row, data in held]  # fmt: skip


def combine(parts: list[tuple[int, object]]):
    """``[(unified quality, Embedding)]`` -> (the combined Embedding, the normalised weights)."""
    from device.vision.embed import Embedding

    model_ids = {e.model_id for _q, e in parts}
    if len(model_ids) != 1:
        raise ModelError("the stills were embedded by different models: they cannot be combined")
    weights = np.array([max(q, 1) / 100.0 for q, _e in parts])
    total = np.sum([w * e.vector.astype(np.float64) for w, (_q, e) in zip(weights, parts, strict=True)], axis=0)
    norm = float(np.linalg.norm(total))
    if not np.isfinite(norm) or norm == 0:
        raise ModelError("the stills' embeddings cancel out: they cannot be combined")
    vector = (total / norm).astype(np.float32)
    vector.flags.writeable = False
    return Embedding(vector, model_ids.pop()), [round(float(w), 4) for w in weights / weights.sum()]


def combined_probe(wf, exam, face, embedding, extra: list[tuple[dict, object]]):
    """The probe vector of the examination's stills and what the audit and the report disclose."""
    with wf.store.connection() as conn:
        datas = [still_bytes(conn, exam.id, row["position"]) for row, _f in extra]
    vectors = [wf.analyses.embedding(data, row["sha256"], row["face_index"]) for data, (row, _f) in
               zip(datas, extra, strict=True)]  # fmt: skip
    parts = [(face.quality.unified, embedding)] + [(f.quality.unified, v) for (_r, f), v in zip(extra, vectors,
                                                                                              strict=True)]  # fmt: skip
    combined, weights = combine(parts)
    shas = [exam.current_sha256] + [row["sha256"] for row, _f in extra]
    disclosure = {
        "stills": len(parts),
        "method": METHOD,
        "parts": [{"position": i, "sha256": sha, "unified": q, "weight": w}
                  for i, (sha, (q, _e), w) in enumerate(zip(shas, parts, weights, strict=True))],
    }  # fmt: skip
    return combined, disclosure


def disclosure(conn, exam_id: int) -> dict | None:
    """How the searched probe was combined, as its ``exam.search`` audit entry recorded it (None:
    one still). The report shows this, so what it says is what the signed log says."""
    row = conn.execute(
        "SELECT body FROM audit_log WHERE object = ? AND action = 'exam.search' ORDER BY seq DESC LIMIT 1",
        (f"exam:{exam_id}",),
    ).fetchone()
    if row is None:
        return None
    return json.loads(row[0]).get("details", {}).get("combined")
