"""Investigation-mode search of one probe's embedding: a ranked list of candidates, never a match.

The gallery's part of a search, called by the workflow (device/workflow/analysis.py), the one door
every search goes through (the UI, the API and ``fieldface search`` alike):
* ``check_request``: a case number, an offence category the policy allows and a stated purpose /
  legal authority are mandatory; K is the policy's unless the request names one;
* ``search``: the top K subjects (each by its best image) with their scores and band, run inside
  the caller's transaction, which also records the search row, its candidates and the audit entry,
  together with the caller's own (the examination moving to step 3).
The probe itself (its bytes, faces, quality) belongs to the examination that holds it.

Categories, K, the line, probe retention and quality thresholds are the policy in force
(device/policy.py: config defaults overlaid by a supervisor's recorded changes).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import timedelta

from device.audit import Draft
from device.errors import UsageError
from device.gallery import scores
from device.gallery.records import require_gallery, to_json

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


def check_request(req: SearchRequest, policy) -> SearchRequest:
    """The request with its fields trimmed and K filled in, or UsageError; ``policy`` is the one in
    force (device/policy.py): the offence categories and K a supervisor set apply at every door."""
    case = (req.case or "").strip()
    if not CASE_PATTERN.match(case):
        raise UsageError("a case number is required (1-64 letters, digits, spaces or . _ / : -)")
    offense = (req.offense or "").strip()
    allowed = policy.offense_categories
    if not offense:
        raise UsageError(f"an offence category is required (allowed here: {', '.join(allowed)})")
    if offense not in allowed:
        raise UsageError(f"offence category {offense!r} is not allowed on this unit (allowed: {', '.join(allowed)})")
    purpose = (req.purpose or "").strip()
    if not purpose:
        raise UsageError("the purpose / legal authority of the search is required")
    top_k = req.top_k or policy.top_k
    if isinstance(top_k, bool) or not isinstance(top_k, int) or not 1 <= top_k <= 200:
        raise UsageError("--top must be between 1 and 200")
    return SearchRequest(case, offense, purpose, req.gallery, req.face_index, top_k, req.quality_override)


@dataclass(frozen=True)
class Probe:
    """What the caller knows of the probe it searches: its hash and format, the chosen face (with
    its quality judged by the policy) and its embedding. The bytes stay with the caller."""

    sha256: str
    format: str
    face: object  # device.vision.Face
    embedding: object  # device.vision.embed.Embedding


def search(
    gallery, conn, probe: Probe, req: SearchRequest, policy, actor, started: str, retain_days_from
) -> tuple[SearchResult, Draft]:
    """Search ``probe``'s embedding for a request already checked (``check_request``), inside the
    caller's open transaction on ``conn``: the search and its candidates are written there, and its
    ``search`` audit draft is returned for the caller to append with its own in that transaction.

    ``retain_days_from`` is the UTC date the probe's retention counts from (the caller's clock).
    The audit entry names the candidates shown by id only (the subject's external reference, or
    its id where it has none), with rank and score: never a name or an image."""
    gal = require_gallery(conn, req.gallery)
    embedding = probe.embedding
    _check_model(conn, gal.id, req.gallery, embedding.model_id)
    line = policy.worth_examining
    index = gallery.index(conn, gal.id)
    # Several images of one subject: ask for more hits, keep each subject's best.
    hits = index.search(embedding.vector, req.top_k * 4)
    candidates = _candidates(conn, hits, line)[: req.top_k]
    finished = gallery.now()
    retain = (retain_days_from + timedelta(days=policy.probe_retain_days)).isoformat()
    face = probe.face
    override = (req.quality_override or "").strip() or None
    version = conn.execute("SELECT version FROM galleries WHERE id = ?", (gal.id,)).fetchone()[0]
    # The probe's bytes are not copied here: the examination holds them (device/workflow).
    search_id = conn.execute(
        "INSERT INTO searches(case_id, offense, purpose, gallery_id, gallery_version, model_id, probe_sha256,"
        " probe_format, probe_image, face_index, face_box, quality, quality_override, top_k, worth_examining,"
        " actor, role, started_at, finished_at, retain_until)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, NULL, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (req.case, req.offense, req.purpose, gal.id, version, embedding.model_id, probe.sha256,
         probe.format, face.index, to_json([round(v, 1) for v in face.box]),
         to_json(face.quality.to_dict()), override, req.top_k, line, actor.name, actor.role,
         started, finished, retain),
    ).lastrowid  # fmt: skip
    conn.executemany(
        "INSERT INTO candidates(search_id, rank, subject_id, image_id, embedding_id, score) VALUES (?, ?, ?, ?, ?, ?)",
        [(search_id, c.rank, c.subject_id, c.image_id, c.embedding_id, c.score) for c in candidates],
    )
    details = {
        "search_id": search_id, "offense": req.offense, "purpose": req.purpose[:200],
        "gallery": req.gallery, "gallery_version": version, "model_id": embedding.model_id,
        "probe_sha256": probe.sha256, "face_index": face.index, "quality": face.quality.verdict,
        "started_at": started, "finished_at": finished, "candidates": len(candidates),
        "worth_examining": sum(c.band == "worth-examining" for c in candidates),
        "shown": [{"rank": c.rank, "subject": c.reference or c.subject_id, "score": round(c.score, 4)}
                  for c in candidates],
    }  # fmt: skip
    if override:
        details["quality_override"] = override[:200]
    draft = Draft("search", actor.name, actor.role, f"search:{search_id}", req.case, "ok", details)
    result = SearchResult(search_id, req.case, req.gallery, version, embedding.model_id, probe.sha256,
                          face.to_dict(), candidates, line, index.exact)  # fmt: skip
    return result, draft


def cite_audit_entry(conn, search_id: int, seq: int) -> None:
    """The search row names its audit entry, so ``audit verify`` notices a log cut below it."""
    conn.execute("UPDATE searches SET audit_seq = ? WHERE id = ?", (seq, search_id))


def refusal(req: SearchRequest, probe_sha: str, reasons: list[str], actor) -> Draft:
    """The audit entry of a search refused for quality (recorded even though nothing else is)."""
    details = {"offense": req.offense, "probe_sha256": probe_sha, "reason": "quality", "quality": reasons[:8]}
    return Draft("search.refused", actor.name, actor.role, None, req.case, "denied", details)


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
