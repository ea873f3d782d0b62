"""Investigation-mode search: one still probe, a stated reason, a ranked list of candidates.

The rules, in the one place every door goes through:
* a case number, an offence category the agency allows (policy ``search.offense_categories``) and a
  stated purpose / legal authority are mandatory;
* a probe with several faces needs the user to choose one;
* a probe whose chosen face fails the quality assessment is refused (and the refusal recorded)
  unless overridden with a recorded reason (the UI allows that to supervisors only);
* the result is the top K candidates with their scores and band, never "a match";
* the search, its probe (kept encrypted for ``search.probe_retain_days``), the gallery version,
  the model and the candidate list are written with the audit entry in one transaction.

Categories, K, the line, probe retention and quality thresholds are the policy in force
(device/policy.py: config defaults overlaid by a supervisor's recorded changes).
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from datetime import date, timedelta

from device.audit import Draft
from device.errors import UsageError
from device.gallery import scores
from device.gallery.records import require_gallery, to_json
from device.policy import Policy

CASE_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9 ._/:-]{0,63}$")


@dataclass(frozen=True)
class SearchRequest:
    case: str
    offense: str
    purpose: str
    gallery: str
    face_index: int | None = None
    top_k: int | None = None
    quality_override: str | None = None


@dataclass(frozen=True)
class Candidate:
    rank: int
    subject_id: int
    display_name: str
    reference: str | None
    category: str
    image_id: int
    embedding_id: int
    score: float
    band: str

    def to_dict(self) -> dict:
        return dict(self.__dict__, score=round(self.score, 4))


@dataclass(frozen=True)
class SearchResult:
    search_id: int
    case: str
    gallery: str
    gallery_version: int
    model_id: str
    probe_sha256: str
    face: dict
    candidates: list[Candidate]
    worth_examining: float
    exact: bool

    def to_dict(self) -> dict:
        return {
            "search_id": self.search_id,
            "case": self.case,
            "gallery": self.gallery,
            "gallery_version": self.gallery_version,
            "model_id": self.model_id,
            "probe_sha256": self.probe_sha256,
            "face": self.face,
            "exact_search": self.exact,
            "score_meaning": scores.meaning(self.worth_examining),
            "candidates": [c.to_dict() for c in self.candidates],
            "notice": "investigative lead only: candidates for trained human review, never an identification",
        }


def check_request(req: SearchRequest, config) -> SearchRequest:
    case = (req.case or "").strip()
    if not CASE_PATTERN.match(case):
        raise UsageError("a case number is required (1-64 letters, digits, spaces or . _ / : -)")
    offense = (req.offense or "").strip()
    allowed = config.search.offense_categories
    if not offense:
        raise UsageError(f"an offence category is required (allowed here: {', '.join(allowed)})")
    if offense not in allowed:
        raise UsageError(f"offence category {offense!r} is not allowed on this unit (allowed: {', '.join(allowed)})")
    purpose = (req.purpose or "").strip()
    if not purpose:
        raise UsageError("the purpose / legal authority of the search is required")
    top_k = req.top_k or config.search.top_k
    if not 1 <= top_k <= 200:
        raise UsageError("--top must be between 1 and 200")
    return SearchRequest(case, offense, purpose, req.gallery, req.face_index, top_k, req.quality_override)


def _choose_face(analysis, face_index: int | None):
    faces = analysis.faces
    if face_index is None:
        if len(faces) > 1:
            raise UsageError(f"the probe shows {len(faces)} faces: choose one with --face N (0 = largest)")
        return faces[0]
    if not 0 <= face_index < len(faces):
        raise UsageError(f"--face {face_index}: the probe has faces 0 to {len(faces) - 1}")
    return faces[face_index]


def _record_refusal(gallery, req: SearchRequest, probe_sha: str, reasons: list[str], actor) -> None:
    gallery.audit.record(
        "search.refused",
        actor=actor.name,
        role=actor.role,
        case=req.case,
        outcome="denied",
        details={"offense": req.offense, "probe_sha256": probe_sha, "reason": "quality", "quality": reasons[:8]},
    )


def search(gallery, probe: bytes, req: SearchRequest, actor, link=None) -> SearchResult:
    """``link(conn, search_id)``, if given, runs inside the search's transaction and returns more
    audit drafts: the workflow ties a search to its examination atomically (device/workflow)."""
    policy = Policy.load(gallery.store, gallery.config)
    req = check_request(req, policy.config)
    started = gallery.now()
    probe_sha = hashlib.sha256(probe).hexdigest()
    with gallery.store.connection() as conn:
        gal = require_gallery(conn, req.gallery)
    analysis = gallery.recognizer.analyze(probe)
    face = policy.reassess(_choose_face(analysis, req.face_index))
    override = (req.quality_override or "").strip() or None
    if face.quality.verdict == "fail" and not override:
        _record_refusal(gallery, req, probe_sha, face.quality.reasons, actor)
        raise UsageError("the probe fails the quality assessment: " + "; ".join(face.quality.reasons))
    embedding = gallery.recognizer.embed(face)
    line = policy.worth_examining
    with gallery.store.connection() as conn:
        _check_model(conn, gal.id, req.gallery, embedding.model_id)
        index = gallery.index(conn, gal.id)
        # Several images of one subject: ask for more hits, keep each subject's best.
        hits = index.search(embedding.vector, req.top_k * 4)
        exact = index.exact
        candidates = _candidates(conn, hits, line)[: req.top_k]
        finished = gallery.now()
        retain = (date.today() + timedelta(days=policy.probe_retain_days)).isoformat()
        with gallery.store.transaction(conn):
            version = conn.execute("SELECT version FROM galleries WHERE id = ?", (gal.id,)).fetchone()[0]
            conn.execute(
                "INSERT OR IGNORE INTO cases(case_id, created_at, created_by) VALUES (?, ?, ?)",
                (req.case, started, actor.name),
            )
            search_id = conn.execute(
                "INSERT INTO searches(case_id, offense, purpose, gallery_id, gallery_version, model_id, probe_sha256,"
                " probe_format, probe_image, face_index, face_box, quality, quality_override, top_k, worth_examining,"
                " actor, role, started_at, finished_at, retain_until)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (req.case, req.offense, req.purpose, gal.id, version, embedding.model_id, probe_sha,
                 analysis.format, probe, face.index, to_json([round(v, 1) for v in face.box]),
                 to_json(face.quality.to_dict()), override, req.top_k, line, actor.name, actor.role,
                 started, finished, retain),
            ).lastrowid  # fmt: skip
            conn.executemany(
                "INSERT INTO candidates(search_id, rank, subject_id, image_id, embedding_id, score)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                [(search_id, c.rank, c.subject_id, c.image_id, c.embedding_id, c.score) for c in candidates],
            )
            details = {
                "search_id": search_id, "offense": req.offense, "purpose": req.purpose[:200],
                "gallery": req.gallery, "gallery_version": version, "model_id": embedding.model_id,
                "probe_sha256": probe_sha, "face_index": face.index, "quality": face.quality.verdict,
                "started_at": started, "finished_at": finished, "candidates": len(candidates),
                "worth_examining": sum(c.band == "worth-examining" for c in candidates),
            }  # fmt: skip
            if override:
                details["quality_override"] = override[:200]
            drafts = [Draft("search", actor.name, actor.role, f"search:{search_id}", req.case, "ok", details)]
            entry = gallery.audit.append_in(conn, drafts + (link(conn, search_id) if link else []))[0]
            conn.execute("UPDATE searches SET audit_seq = ? WHERE id = ?", (entry.seq, search_id))  # audit verify
    return SearchResult(
        search_id, req.case, req.gallery, version, embedding.model_id, probe_sha,
        face.to_dict(), candidates, line, exact,
    )  # fmt: skip


def _check_model(conn, gallery_id: int, name: str, model_id: str) -> None:
    """A gallery enrolled with another model cannot be searched with this one: say so."""
    models = dict(
        conn.execute("SELECT model_id, count(*) FROM embeddings WHERE gallery_id = ? GROUP BY model_id", (gallery_id,))
    )
    if models and model_id not in models:
        raise UsageError(
            f"gallery {name!r} holds embeddings of {', '.join(sorted(models))}, not of the current model {model_id}: "
            "re-enroll its images with the current model"
        )


def _candidates(conn, hits, line: float) -> list[Candidate]:
    if not hits:
        return []
    ids = [h.embedding_id for h in hits]
    rows = conn.execute(
        "SELECT e.id, s.id, s.display_name, s.reference, s.category, f.id FROM embeddings e"  # noqa: S608 - "?" only
        " JOIN face_images f ON f.id = e.image_id JOIN subjects s ON s.id = f.subject_id"
        f" WHERE e.id IN ({','.join('?' * len(ids))})",
        ids,
    ).fetchall()
    by_id = {row[0]: row[1:] for row in rows}
    ranked, seen = [], set()
    for hit in sorted(hits, key=lambda h: -h.score):
        subject = by_id.get(hit.embedding_id, (None,))[0]
        if subject is not None and subject not in seen:
            seen.add(subject)
            ranked.append(hit)
    return [
        Candidate(rank, s_id, name, ref, cat, img_id, h.embedding_id, h.score, scores.band(h.score, line))
        for rank, h in enumerate(ranked, start=1)
        for (s_id, name, ref, cat, img_id) in [by_id[h.embedding_id]]
    ]
