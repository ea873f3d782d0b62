"""Verification and identification rates from labelled embeddings: plain numpy, no I/O.

Conventions (ISO/IEC 19795-1 words): a *genuine* pair is two images of one identity, an
*impostor* pair two images of different identities. At a threshold t, FMR is the share of impostor
pairs scoring >= t (the search's "worth examining" rule), FNMR the share of genuine pairs below t,
TAR = 1 - FNMR.

How small a rate a set can show is bounded by its impostor pairs: with n pairs and no false match
seen, the 95% upper bound on the FMR is about 3/n (rule of three), so a target f is *not
resolvable* below n*f = 3; a rate resting on fewer than 30 errors (n*f < 30) is *rough*
(Doddington's rule of 30 for +-30% at 90% confidence).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

RULE_OF_THREE = 3
RULE_OF_THIRTY = 30


@dataclass
class Pairs:
    """Every pair of images once: its score and the two identities (indices into ``names``)."""

    scores: np.ndarray  # float64
    first: np.ndarray  # identity index of one image
    second: np.ndarray  # identity index of the other

    @property
    def genuine(self) -> np.ndarray:
        return self.scores[self.first == self.second]

    @property
    def impostor(self) -> np.ndarray:
        return self.scores[self.first != self.second]


def all_pairs(vectors: np.ndarray, identity: np.ndarray) -> Pairs:
    """Cosine scores of every image pair (vectors are unit length), in float64."""
    v = np.asarray(vectors, dtype=np.float64)
    sims = v @ v.T
    i, j = np.triu_indices(len(v), k=1)
    return Pairs(sims[i, j], identity[i], identity[j])


def fmr_fnmr(genuine: np.ndarray, impostor: np.ndarray, threshold: float) -> tuple[float | None, float | None]:
    fmr = float(np.mean(impostor >= threshold)) if len(impostor) else None
    fnmr = float(np.mean(genuine < threshold)) if len(genuine) else None
    return fmr, fnmr


def threshold_at_fmr(impostor: np.ndarray, target: float) -> float:
    """The lowest threshold whose FMR is at most ``target`` on these impostor scores."""
    ordered = np.sort(impostor)[::-1]
    allowed = math.floor(target * len(ordered) + 1e-9)
    if allowed >= len(ordered):
        return -1.0
    # Just above the (allowed+1)-th highest impostor score: at most `allowed` pairs reach it.
    return float(np.nextafter(ordered[allowed], np.inf))


def resolution(n_impostor: int, target: float) -> str:
    expected = n_impostor * target
    if expected < RULE_OF_THREE:
        return "not-resolvable"
    return "rough" if expected < RULE_OF_THIRTY else "measured"


def tar_at_far(genuine: np.ndarray, impostor: np.ndarray, target: float) -> dict:
    status = resolution(len(impostor), target)
    row = {"far": target, "status": status, "threshold": None, "tar": None}
    if status == "not-resolvable":
        row["note"] = (
            f"{len(impostor)} impostor pairs cannot show a false-accept rate of {target:g}: "
            f"at least {math.ceil(RULE_OF_THREE / target)} are needed (rule of three)"
        )
        return row
    t = threshold_at_fmr(impostor, target)
    fmr, fnmr = fmr_fnmr(genuine, impostor, t)
    row.update(threshold=round(t, 4), tar=None if fnmr is None else round(1 - fnmr, 4), fmr=fmr)
    if status == "rough":
        row["note"] = f"rests on {len(impostor) * target:.0f} expected false accepts (< {RULE_OF_THIRTY}): rough"
    return row


def recommend_line(genuine: np.ndarray, impostor: np.ndarray, target: float) -> dict:
    """The "worth examining" line for ``target`` FMR, rounded up to 3 decimals (rounding up keeps
    the FMR at or below the target), or why this data cannot give one."""
    status = resolution(len(impostor), target)
    highest = float(impostor.max()) if len(impostor) else None
    out = {"target_fmr": target, "status": status, "impostor_pairs": len(impostor), "highest_impostor": highest}
    if status == "not-resolvable":
        out["line"] = None
        out["note"] = (
            f"not from this data: {len(impostor)} impostor pairs cannot show an FMR of {target:g} "
            f"(need at least {math.ceil(RULE_OF_THREE / target)}); keep the current line or test more identities"
        )
        return out
    exact = threshold_at_fmr(impostor, target)
    line = math.ceil(exact * 1000) / 1000
    if line < exact:  # float rounding of exact * 1000: never end below the threshold
        line = round(line + 0.001, 3)
    fmr, fnmr = fmr_fnmr(genuine, impostor, line)
    out.update(line=line, fmr=fmr, fnmr=fnmr)
    return out


def det_curve(genuine: np.ndarray, impostor: np.ndarray, points: int = 400) -> tuple[np.ndarray, np.ndarray]:
    """(FMR, FNMR) over thresholds spanning every observed score."""
    scores = np.concatenate([genuine, impostor])
    thresholds = np.unique(np.quantile(scores, np.linspace(0, 1, points)))
    fmr = np.array([np.mean(impostor >= t) for t in thresholds])
    fnmr = np.array([np.mean(genuine < t) for t in thresholds])
    return fmr, fnmr


def identification(vectors: np.ndarray, identity: np.ndarray, gallery_rows: np.ndarray, k: int,
                   line: float) -> dict:  # fmt: skip
    """Investigation mode on the labelled set: the ``gallery_rows`` (one image per identity) are
    enrolled, every other image of an enrolled identity is a mated search.

    rank-r rate: share of mated searches whose own identity is among the r best-scoring gallery
    entries. Non-mated: each search again with its own identity left out of the gallery; the share
    where some other identity still reaches the line is the false-positive identification rate."""
    v = np.asarray(vectors, dtype=np.float64)
    g_ids = identity[gallery_rows]
    probes = np.array([r for r in range(len(v)) if r not in set(gallery_rows) and identity[r] in set(g_ids)], int)
    if len(probes) == 0:
        return {"mated_searches": 0, "note": "no identity has a second image: identification cannot be measured"}
    sims = v[probes] @ v[gallery_rows].T
    own = g_ids[None, :] == identity[probes][:, None]
    true_score = np.where(own, sims, -np.inf).max(axis=1)
    others = np.where(own, -np.inf, sims)
    rank = 1 + (others > true_score[:, None]).sum(axis=1)
    reached = others.max(axis=1) >= line if others.shape[1] else np.zeros(len(probes), bool)
    out = {
        "gallery_size": len(gallery_rows),
        "mated_searches": len(probes),
        "k": k,
        "rank_1": round(float(np.mean(rank <= 1)), 4),
        "rank_k": round(float(np.mean(rank <= k)), 4),
        "mated_at_or_above_line_within_k": round(float(np.mean((rank <= k) & (true_score >= line))), 4),
        "non_mated_fpir_at_line": round(float(np.mean(reached)), 4),
        "line": line,
    }
    if k >= len(gallery_rows):
        out["note"] = f"K={k} is not below the gallery size {len(gallery_rows)}: rank-K is 1 by construction"
    return out


def subgroup_rates(pairs: Pairs, labels: dict[str, np.ndarray], threshold: float) -> dict:
    """FMR and FNMR per subgroup at ``threshold``, with their ratio to the overall rate.

    ``labels``: attribute -> the subgroup value of each identity (index = identity index; "" when
    unlabelled). Genuine pairs of a subgroup are its identities'; impostor pairs are those with
    both identities in the subgroup (cross-group pairs differ in the very traits being compared)."""
    overall_fmr, overall_fnmr = fmr_fnmr(pairs.genuine, pairs.impostor, threshold)
    out = {"threshold": threshold, "overall": {"fmr": overall_fmr, "fnmr": overall_fnmr}, "attributes": {}}
    for attribute, values in labels.items():
        groups = {}
        for value in sorted({v for v in values if v}):
            a, b = values[pairs.first] == value, values[pairs.second] == value
            gen = pairs.scores[a & b & (pairs.first == pairs.second)]
            imp = pairs.scores[a & b & (pairs.first != pairs.second)]
            fmr, fnmr = fmr_fnmr(gen, imp, threshold)
            groups[value] = {
                "identities": int(np.sum(values == value)),
                "genuine_pairs": len(gen),
                "impostor_pairs": len(imp),
                "fmr": fmr,
                "fnmr": fnmr,
                "fmr_ratio": _ratio(fmr, overall_fmr),
                "fnmr_ratio": _ratio(fnmr, overall_fnmr),
            }
            if len(imp) and not np.any(imp >= threshold):
                groups[value]["fmr_note"] = f"0 of {len(imp)}: below about {RULE_OF_THREE / len(imp):.2g} (95%)"
        out["attributes"][attribute] = groups
    return out


def _ratio(rate: float | None, overall: float | None) -> float | None:
    if rate is None or not overall:
        return None
    return round(rate / overall, 4)


def edc(vectors: np.ndarray, identity: np.ndarray, quality: np.ndarray, threshold: float,
        max_discard: float = 0.5) -> list[tuple[float, float | None, int]]:  # fmt: skip
    """Error versus discard (ISO/IEC 29794-1): FNMR at ``threshold`` as the lowest-quality images
    are discarded. A genuine pair stays while both its images do (a pair is as good as its worse
    image). The curve is evaluated only where the quality changes (ties are discarded together,
    never split by an arbitrary order), up to ``max_discard`` of the images.

    Returns [(share of images discarded, FNMR or None when no genuine pair is left, genuine pairs left)]."""
    v = np.asarray(vectors, dtype=np.float64)
    i, j = np.triu_indices(len(v), k=1)
    same = identity[i] == identity[j]
    i, j = i[same], j[same]
    scores = np.einsum("nd,nd->n", v[i], v[j])
    pair_quality = np.minimum(quality[i], quality[j])
    points = []
    for cut in np.unique(quality):
        discarded = float(np.mean(quality < cut))
        if discarded > max_discard:
            break
        kept = pair_quality >= cut
        n = int(kept.sum())
        points.append((round(discarded, 4), float(np.mean(scores[kept] < threshold)) if n else None, n))
    return points
