"""Operational testing on the agency's own labelled photos (RCW 43.386.040/.050-style).

``read_dataset`` -> ``embed_dataset`` (the unit's own recognizer and quality bar) -> ``run`` (the
rates) -> ``plots`` -> ``save`` (the summary, plots and an ``evaluation.run`` audit entry, in one
transaction) -> ``write_out`` (only into the folder the operator named). Nothing is uploaded:
this module opens no socket, and what it keeps is counts, rates, thresholds and hashes.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from device.audit import AuditLog, Draft
from device.errors import UsageError
from device.reports import actions as A
from device.reports import metrics
from device.reports import plots as draw
from device.reports.dataset import Embedded, embed_dataset, read_dataset
from device.store.db import utc_now

__all__ = ["describe", "embed_dataset", "plots", "read_dataset", "run", "save", "write_out"]

FAR_TARGETS = (1e-2, 1e-3, 1e-4)
CAVEAT = (
    "A small labelled set cannot resolve low false-accept rates: with n impostor pairs and no false "
    "accept seen, the 95% bound is only about 3/n. Rates marked not-resolvable or rough need more identities."
)


def run(data: Embedded, *, line: float, target_fmr: float, top_k: int) -> dict:
    """Every figure of the operational test, as one JSON-ready summary."""
    if not 0 < target_fmr < 1:
        raise UsageError(f"--target-fmr must be between 0 and 1, got {target_fmr}")
    if len(set(data.identity.tolist())) < 2:
        raise UsageError("fewer than 2 identities have a usable photo: nothing to compare")
    pairs = metrics.all_pairs(data.vectors, data.identity)
    genuine, impostor = pairs.genuine, pairs.impostor
    first_rows = np.array([int(np.flatnonzero(data.identity == i)[0]) for i in sorted(set(data.identity.tolist()))])
    labels = {
        attribute: np.array([data.subgroups.get(name, {}).get(attribute, "") for name in data.names], dtype=object)
        for attribute in data.attributes
    }
    fmr, fnmr = metrics.fmr_fnmr(genuine, impostor, line)
    return {
        "what": {
            "model_id": data.model_id,
            "data_sha256": data.data_sha256,
            "identities": len(set(data.identity.tolist())),
            "images": data.images_total,
            "images_used": len(data.files),
            "skipped": len(data.skipped),
            "quality": dict(sorted(data.quality.items())),
            "gallery": "the labelled set itself: the first usable photo of each identity (investigation mode)",
            "subgroup_attributes": data.attributes,
        },
        "pairs": {"genuine": len(genuine), "impostor": len(impostor)},
        "scores": {
            "genuine": _stats(genuine),
            "impostor": _stats(impostor),
        },
        "line_in_force": {"line": line, "fmr": fmr, "fnmr": fnmr},
        "tar_at_far": [metrics.tar_at_far(genuine, impostor, f) for f in FAR_TARGETS],
        "recommended_line": metrics.recommend_line(genuine, impostor, target_fmr),
        "identification": metrics.identification(data.vectors, data.identity, first_rows, top_k, line),
        "subgroups": metrics.subgroup_rates(pairs, labels, line) if labels else None,
        "edc": edc_summary(data, line),
        "caveat": CAVEAT,
    }


def edc_summary(data: Embedded, line: float) -> dict:
    """Error-versus-discard curves of the quality gate's unified score and of each component, on
    every one-face photo (those the gate fails too: the curve shows what discarding them buys)."""
    probes = data.probes
    if probes is None or not len(probes.identity):
        return {"note": "no one-face photo: nothing to discard"}
    i, j = np.triu_indices(len(probes.identity), k=1)
    genuine = int(np.sum(probes.identity[i] == probes.identity[j]))
    curves = {name: metrics.edc(probes.vectors, probes.identity, q, line) for name, q in probes.scores.items()}
    errors = round((curves["unified"][0][1] or 0.0) * genuine)
    out = {
        "line": line,
        "photos": len(probes.identity),
        "genuine_pairs": genuine,
        "false_non_matches": errors,
        "gate_discards": round(float(np.mean(probes.failing)), 4),
        "curves": {name: [list(p) for p in points] for name, points in curves.items()},
    }
    if errors < metrics.RULE_OF_THIRTY:
        out["note"] = f"the curves rest on {errors} false non-match(es) among {genuine} genuine pairs: " + (
            "nothing to lower, discarding cannot show a gain" if errors == 0 else "rough (fewer than 30 errors)"
        )
    return out


def _stats(scores: np.ndarray) -> dict:
    if not len(scores):
        return {"n": 0}
    q = np.quantile(scores, [0.0, 0.5, 1.0])
    return {"n": len(scores), "min": round(float(q[0]), 4), "median": round(float(q[1]), 4),
            "max": round(float(q[2]), 4), "mean": round(float(scores.mean()), 4)}  # fmt: skip


def plots(summary: dict, data: Embedded) -> dict[str, bytes]:
    pairs = metrics.all_pairs(data.vectors, data.identity)
    genuine, impostor = pairs.genuine, pairs.impostor
    lines = {"line in force": summary["line_in_force"]["line"]}
    if summary["recommended_line"].get("line") is not None:
        lines["recommended"] = summary["recommended_line"]["line"]
    points = {f"{k} {v:.3f}": metrics.fmr_fnmr(genuine, impostor, v) for k, v in lines.items()}
    fmr, fnmr = metrics.det_curve(genuine, impostor) if len(genuine) and len(impostor) else (np.ones(1), np.ones(1))
    return {
        "det.png": draw.det_png(
            fmr, fnmr, len(impostor), len(genuine), lines, {k: (a or 0.0, b or 0.0) for k, (a, b) in points.items()}
        ),
        "scores.png": draw.scores_png(genuine, impostor, lines),
        "edc.png": draw.edc_png(summary["edc"]),
    }


def save(store, summary: dict, pictures: dict[str, bytes], *, actor: str, role: str,
         audit: AuditLog | None = None) -> int:  # fmt: skip
    """Keep the summary and plots in the store and audit the run, in one transaction; returns its id."""
    audit = audit or AuditLog(store)
    what = summary["what"]
    with store.connection() as conn, store.transaction(conn):
        evaluation_id = conn.execute(
            "INSERT INTO evaluations(created_at, created_by, model_id, data_sha256, summary, det_png, scores_png)"
            " VALUES (?, ?, ?, ?, ?, ?, ?)",
            (utc_now(), actor, what["model_id"], what["data_sha256"], json.dumps(summary, sort_keys=True),
             pictures["det.png"], pictures["scores.png"]),
        ).lastrowid  # fmt: skip
        rec = summary["recommended_line"]
        details = {
            "evaluation_id": evaluation_id, "model_id": what["model_id"], "data_sha256": what["data_sha256"],
            "identities": what["identities"], "images_used": what["images_used"], "pairs": summary["pairs"],
            "line_in_force": summary["line_in_force"], "target_fmr": rec["target_fmr"],
            "recommended_line": rec.get("line"), "rank_1": summary["identification"].get("rank_1"),
        }  # fmt: skip
        audit.append_in(conn, [Draft(A.EVALUATION, actor, role, f"evaluation:{evaluation_id}", details=details)])
    return evaluation_id


def load(store, evaluation_id: int | None = None) -> list[dict]:
    """Stored evaluations, newest first (one when ``evaluation_id`` is given), without their plots."""
    sql = "SELECT id, created_at, created_by, summary FROM evaluations"
    params: tuple = ()
    if evaluation_id is not None:
        sql, params = sql + " WHERE id = ?", (evaluation_id,)
    with store.connection() as conn:
        rows = conn.execute(sql + " ORDER BY id DESC", params).fetchall()
    return [{"id": i, "created_at": at, "created_by": by, **json.loads(s)} for i, at, by, s in rows]


def picture(store, evaluation_id: int, name: str) -> bytes | None:
    column = {"det.png": "det_png", "scores.png": "scores_png"}[name]
    with store.connection() as conn:
        row = conn.execute(f"SELECT {column} FROM evaluations WHERE id = ?", (evaluation_id,)).fetchone()  # noqa: S608
    return bytes(row[0]) if row else None


def write_out(out: Path, summary: dict, pictures: dict[str, bytes]) -> None:
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "summary.json").write_text(json.dumps(summary, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    for name, data in pictures.items():
        (out / name).write_bytes(data)


def _rate(value) -> str:
    return "n/a" if value is None else f"{value:.4f}"


def describe(summary: dict, skipped: list[tuple[str, str]] = ()) -> list[str]:
    what, pairs = summary["what"], summary["pairs"]
    lines = [
        f"operational test {summary.get('evaluation_id', '')}: model {what['model_id']}, data sha256 "
        f"{what['data_sha256'][:16]}…",
        f"{what['identities']} identities, {what['images_used']} of {what['images']} photos used "
        f"({what['skipped']} skipped); {pairs['genuine']} genuine and {pairs['impostor']} impostor pairs",
    ]
    lines += [f"  skipped {path}: {reason}" for path, reason in skipped]
    for name in ("genuine", "impostor"):
        s = summary["scores"][name]
        if s["n"]:
            lines.append(f"{name} scores: min {s['min']:.3f}  median {s['median']:.3f}  max {s['max']:.3f}")
    f = summary["line_in_force"]
    lines.append(f"at the line in force {f['line']:.3f}: FMR {_rate(f['fmr'])}, FNMR {_rate(f['fnmr'])}")
    for row in summary["tar_at_far"]:
        if row["tar"] is None:
            lines.append(f"TAR at FAR {row['far']:g}: {row['note']}")
        else:
            note = f" ({row['note']})" if row.get("note") else ""
            lines.append(f"TAR at FAR {row['far']:g}: {row['tar']:.4f} at threshold {row['threshold']:.4f}{note}")
    rec = summary["recommended_line"]
    if rec.get("line") is not None:
        lines.append(f"recommended worth-examining line for FMR {rec['target_fmr']:g}: {rec['line']:.3f} "
                     f"(FMR {_rate(rec['fmr'])}, FNMR {_rate(rec['fnmr'])}; {rec['status']})")  # fmt: skip
    else:
        lines.append(f"recommended line for FMR {rec['target_fmr']:g}: {rec['note']}")
    ident = summary["identification"]
    if ident.get("mated_searches"):
        lines.append(f"identification: {ident['mated_searches']} mated searches in a gallery of "
                     f"{ident['gallery_size']}: rank-1 {ident['rank_1']:.4f}, rank-{ident['k']} {ident['rank_k']:.4f}; "
                     f"non-mated FPIR at the line {ident['non_mated_fpir_at_line']:.4f}")  # fmt: skip
    else:
        lines.append(f"identification: {ident['note']}")
    for attribute, groups in ((summary.get("subgroups") or {}).get("attributes") or {}).items():
        for value, g in groups.items():
            lines.append(f"subgroup {attribute}={value}: FMR {_rate(g['fmr'])} (x{_rate(g['fmr_ratio'])}), "
                         f"FNMR {_rate(g['fnmr'])} (x{_rate(g['fnmr_ratio'])}); {g['impostor_pairs']} impostor, "
                         f"{g['genuine_pairs']} genuine pairs")  # fmt: skip
    lines += describe_edc(summary.get("edc") or {})
    lines.append("CAVEAT: " + summary["caveat"])
    return lines


def describe_edc(edc: dict) -> list[str]:
    if "curves" not in edc:
        return [f"error versus discard: {edc['note']}"] if edc.get("note") else []
    lines = [
        f"error versus discard (FNMR at the line {edc['line']:.3f} as the lowest-quality photos are discarded; "
        f"{edc['photos']} one-face photos, {edc['genuine_pairs']} genuine pairs, the gate fails "
        f"{edc['gate_discards']:.0%} of them):"
    ]
    for name, points in edc["curves"].items():
        shown = [f"{d:.0%}: {_rate(f)} ({n} pairs)" for d, f, n in _milestones(points)]
        lines.append(f"  {name}: " + ", ".join(shown))
    if edc.get("note"):
        lines.append(f"  note: {edc['note']}")
    return lines


def _milestones(points: list, marks=(0.0, 0.05, 0.1, 0.2)) -> list:
    """The curve's first point at or past each share discarded (a curve may jump past some)."""
    out = []
    for mark in marks:
        point = next((p for p in points if p[0] >= mark), None)
        if point is not None and point not in out:
            out.append(point)
    return out
