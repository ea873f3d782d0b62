"""Step 3: the search on the (enhanced) probe, the candidates, and the examiner's analysis.

* The search runs on the working image (the enhanced one, or the original if nothing was edited);
  its hash is recorded on the examination in the same transaction as the search itself.
* Candidates come with their score and what it means (device/gallery/scores.py); there is no
  "match" anywhere: only possible lead / excluded / inconclusive, chosen by a person.
* A disposition needs the whole morphological checklist (similar / dissimilar / not visible for
  every feature) and a reason; the checklist and disposition commit with their audit entry.
"""

from __future__ import annotations

from device.audit import Draft
from device.errors import NotAllowedError, NotFoundError, StepError, UsageError
from device.gallery import Actor, Probe, SearchRequest, SearchResult, restore_gate
from device.gallery import scores as score_meaning
from device.gallery.search import check_request, cite_audit_entry, refusal
from device.workflow import stills
from device.workflow.cases import get, image_bytes, may_see_images, owned
from device.workflow.probe import chosen_face
from device.workflow.users import User, require_role, require_trained, utc

# After the FISWG facial image comparison feature list / ASTM E3149 (shared/notes/workflow.md).
FEATURES = (
    ("face_shape", "Overall face shape and proportions"),
    ("hairline", "Hairline and forehead"),
    ("eyebrows", "Eyebrows"),
    ("eyes", "Eyes (shape, spacing, lids, creases)"),
    ("nose", "Nose (bridge, tip, nostrils)"),
    ("cheeks", "Cheeks and cheekbones"),
    ("ears", "Ears (helix, lobe, tragus)"),
    ("mouth", "Mouth and lips"),
    ("chin", "Chin and jawline"),
    ("facial_hair", "Facial hair"),
    ("skin", "Skin: scars, moles, marks, tattoos, wrinkles"),
)
VERDICTS = ("similar", "dissimilar", "not-visible")
DISPOSITIONS = ("possible-lead", "excluded", "inconclusive")


def run_search(wf, user: User, exam_id: int, face_index: int | None = None) -> SearchResult:
    """Search the examination's working image: the one search path of every door.

    The probe was analysed once (cached by hash) and its chosen face is embedded once; the
    gallery then searches that embedding inside this function's transaction, which also moves the
    examination to step 3 and records the search, its candidates and both audit entries, or none
    of it. The "searching" activity marker (the unit's LED) is up while it runs."""
    require_role(user, "examiner")
    require_trained(user, wf.today())
    policy = wf.policy()
    with wf.store.connection() as conn:
        restore_gate.refuse_if_gated(conn)  # a restored card may hold people the agency has since erased
        exam = owned(conn, user, exam_id, "open")
        data = image_bytes(conn, exam_id, "working")
    sha = exam.current_sha256
    req = check_request(SearchRequest(exam.case_id, exam.offense, exam.purpose, wf.config.gallery.default_gallery,
                                      quality_override=exam.quality_override), policy)  # fmt: skip
    actor = Actor(user.username, "examiner")
    with wf.activity.searching():
        started = utc(wf.now())
        analysis = policy.judged(wf.analyses.analysis(data, sha))
        face = analysis.faces[chosen_face(analysis, face_index if face_index is not None else exam.face_index)]
        extra = stills.for_search(wf, policy, exam_id)  # more stills of the person: usually none
        reasons = face.quality.reasons if face.quality.verdict == "fail" else []
        reasons += [f"still {row['position'] + 1}: {r}" for row, f in extra if f.quality.verdict == "fail"
                    for r in f.quality.reasons]  # fmt: skip
        if reasons and not req.quality_override:
            with wf.store.transaction() as conn:  # the refusal is recorded; nothing else is
                wf.audit.append_in(conn, [refusal(req, sha, reasons, actor)])
            raise UsageError("the probe fails the quality assessment: " + "; ".join(reasons)
                             + " (a supervisor may record an override with a reason)")  # fmt: skip
        embedding, combined = wf.analyses.embedding(data, sha, face.index), None
        if extra:
            embedding, combined = stills.combined_probe(wf, exam, face, embedding, extra)
        probe = Probe(sha, analysis.format, face, embedding)
        with wf.store.connection() as conn, wf.store.transaction(conn):
            current = get(conn, exam_id)
            used = [row["sha256"] for row, _f in extra]
            if current.status != "open" or current.current_sha256 != sha or used != [
                    r["sha256"] for r in stills.rows(conn, exam_id)]:  # fmt: skip
                raise StepError("this examination changed meanwhile (already searched or edited): look at it again")
            result, search_draft = wf.gallery.search(conn, probe, req, policy, actor, started, wf.today())
            conn.execute(
                "UPDATE examinations SET status = 'analysis', search_id = ?, searched_sha256 = ?, face_index = ?,"
                " updated_at = ? WHERE id = ?",
                (result.search_id, sha, face.index, utc(wf.now()), exam_id),
            )
            details = {"search_id": result.search_id, "searched_sha256": sha, "enhanced": sha != exam.probe_sha256,
                       "original_sha256": exam.probe_sha256}  # fmt: skip
            if combined is not None:
                details["combined"] = combined
            exam_draft = Draft("exam.search", user.username, "examiner", f"exam:{exam_id}", exam.case_id,
                               details=details)  # fmt: skip
            search_entry, _ = wf.audit.append_in(conn, [search_draft, exam_draft])
            cite_audit_entry(conn, result.search_id, search_entry.seq)
    return result


def _rows(conn, exam) -> list[dict]:
    rows = conn.execute(
        "SELECT c.rank, c.subject_id, c.image_id, c.score, s.display_name, s.reference, s.category,"
        " d.disposition, d.reason, (SELECT count(*) FROM checklists k WHERE k.exam_id = ? AND k.rank = c.rank)"
        " FROM candidates c LEFT JOIN subjects s ON s.id = c.subject_id"
        " LEFT JOIN dispositions d ON d.exam_id = ? AND d.rank = c.rank"
        " WHERE c.search_id = ? ORDER BY c.rank",
        (exam.id, exam.id, exam.search_id),
    ).fetchall()
    line = conn.execute("SELECT worth_examining FROM searches WHERE id = ?", (exam.search_id,)).fetchone()[0]
    out = []
    for rank, subject_id, image_id, score, name, ref, cat, disp, reason, checked in rows:
        out.append({
            "rank": rank, "subject_id": subject_id, "image_id": image_id, "score": round(score, 4),
            "band": score_meaning.band(score, line), "meaning": score_meaning.explain(score, line),
            "display_name": name if name is not None else "(subject erased from the gallery)",
            "reference": ref, "category": cat, "erased": name is None,
            "disposition": disp, "reason": reason, "checklist_done": checked == len(FEATURES),
            "same_photo": score_meaning.same_photo(score),
        })  # fmt: skip
    return out


def search_facts(conn, exam) -> dict:
    row = conn.execute(
        "SELECT s.gallery_version, g.name, s.model_id, s.started_at, s.finished_at, s.worth_examining, s.quality,"
        " s.quality_override, s.top_k FROM searches s JOIN galleries g ON g.id = s.gallery_id WHERE s.id = ?",
        (exam.search_id,),
    ).fetchone()
    keys = ("gallery_version", "gallery", "model_id", "started_at", "finished_at", "worth_examining", "quality",
            "quality_override", "top_k")  # fmt: skip
    facts = dict(zip(keys, row, strict=True))
    facts["score_meaning"] = score_meaning.meaning(facts["worth_examining"])
    return facts


def candidates(wf, user: User, exam_id: int, blind: bool = False) -> tuple[dict, list[dict]]:
    """``(search facts, candidate rows)``; ``blind`` leaves out the examiner's dispositions."""
    with wf.store.connection() as conn:
        exam = get(conn, exam_id)
        if not may_see_images(user, exam):
            raise NotAllowedError(f"case examination {exam_id} belongs to another user: refused")
        if exam.search_id is None:
            raise StepError("this examination has not been searched yet")
        rows = _rows(conn, exam)
        facts = search_facts(conn, exam)
    if blind:
        for row in rows:
            row.update(disposition=None, reason=None, checklist_done=None)
    return facts, rows


def candidate(wf, user: User, exam_id: int, rank: int) -> dict:
    _, rows = candidates(wf, user, exam_id, blind=True)
    for row in rows:
        if row["rank"] == rank:
            return row
    raise NotFoundError(f"no candidate {rank} in this examination")


def checklist(wf, exam_id: int, rank: int) -> dict[str, tuple[str, str]]:
    with wf.store.connection() as conn:
        rows = conn.execute("SELECT feature, verdict, note FROM checklists WHERE exam_id = ? AND rank = ?",
                            (exam_id, rank)).fetchall()  # fmt: skip
    return {f: (v, n) for f, v, n in rows}


def record(
    wf,
    user: User,
    exam_id: int,
    rank: int,
    checklist: dict,
    notes: dict,
    disposition: str,
    reason: str,
    below_line_reason: str = "",
):
    """``checklist`` {feature: verdict}, ``notes`` {feature: text}; all features must be rated.

    A possible lead is one candidate per examination, refused here when another one already is;
    a candidate scoring below the search's worth-examining line is put forward only with a separate
    recorded justification (``below_line_reason``), which goes into the audit entry."""
    require_role(user, "examiner")
    require_trained(user, wf.today())
    missing = [label for key, label in FEATURES if checklist.get(key) not in VERDICTS]
    if missing:
        raise UsageError("rate every feature (similar / dissimilar / not visible); missing: " + ", ".join(missing))
    if disposition not in DISPOSITIONS:
        raise UsageError("choose a disposition: possible lead, excluded or inconclusive")
    reason = (reason or "").strip()
    if not reason:
        raise UsageError("a disposition needs a reason, which is recorded")
    clean_notes = {k: (notes.get(k) or "").strip()[:1000] for k, _ in FEATURES}
    with wf.store.connection() as conn, wf.store.transaction(conn):
        exam = owned(conn, user, exam_id, "analysis")
        row = conn.execute("SELECT subject_id FROM candidates WHERE search_id = ? AND rank = ?",
                           (exam.search_id, rank)).fetchone()  # fmt: skip
        if row is None:
            raise NotFoundError(f"no candidate {rank} in this examination")
        justification = None
        if disposition == "possible-lead":
            other = conn.execute("SELECT rank FROM dispositions WHERE exam_id = ? AND rank != ?"
                                 " AND disposition = 'possible-lead'", (exam_id, rank)).fetchone()  # fmt: skip
            if other:
                raise UsageError(f"candidate {other[0]} is already the possible lead: only one candidate per"
                                 " examination can be; change that one first")  # fmt: skip
            score, line = conn.execute("SELECT c.score, s.worth_examining FROM candidates c JOIN searches s"
                                       " ON s.id = c.search_id WHERE c.search_id = ? AND c.rank = ?",
                                       (exam.search_id, rank)).fetchone()  # fmt: skip
            if score < line:
                justification = (below_line_reason or "").strip()[:1000]
                if not justification:
                    raise UsageError(
                        f"this candidate scores {score:.2f}, below the worth-examining line {line:.2f}:"
                        " putting it forward as the possible lead needs a written justification"
                    )
                reason = f"{reason}\nBelow the worth-examining line ({score:.2f} < {line:.2f}): {justification}"
        conn.executemany(
            "INSERT OR REPLACE INTO checklists(exam_id, rank, feature, verdict, note) VALUES (?, ?, ?, ?, ?)",
            [(exam_id, rank, key, checklist[key], clean_notes[key]) for key, _ in FEATURES],
        )
        # A correction says what it replaces, so the accountability report (device/reports/tally.py)
        # counts each candidate once, by its last save, however its entries are summed.
        # Its day is the earlier entry's own ``at`` (the audit clock's), read from the log.
        before = conn.execute(
            "SELECT json_extract(body, '$.details.disposition'), at FROM audit_log WHERE case_id = ?"
            " AND action = 'exam.disposition' AND object = ? AND outcome = 'ok'"
            " AND json_extract(body, '$.details.rank') = ? ORDER BY seq DESC LIMIT 1",
            (exam.case_id, f"exam:{exam_id}", rank),
        ).fetchone()
        conn.execute(
            "INSERT OR REPLACE INTO dispositions(exam_id, rank, disposition, reason, by_user, at)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            (exam_id, rank, disposition, reason[:2000], user.id, utc(wf.now())),
        )
        counts = {v: sum(checklist[k] == v for k, _ in FEATURES) for v in VERDICTS}
        details = {"rank": rank, "subject_id": row[0], "disposition": disposition, "reason": reason[:200],
                   "checklist": counts,
                   "replaces": {"disposition": before[0], "at": before[1]} if before else None}  # fmt: skip
        if justification:
            details["below_line_justification"] = justification[:200]
        wf.audit.append_in(conn, [Draft("exam.disposition", user.username, "examiner", f"exam:{exam_id}",
                                        exam.case_id, details=details)])  # fmt: skip
        return get(conn, exam_id)
