"""One operational test, start to end: the pipeline both doors run (``fieldface evaluate`` and the
web's Reports > Operational tests). The steps themselves are device/reports/evaluate.py's."""

from __future__ import annotations

from device.policy import Policy
from device.reports import evaluate


def run_operational_test(store, config, recognizer, dataset, *, target_fmr: float, top: int | None, actor: str,
                         role: str, audit=None, progress=None) -> tuple[dict, dict[str, bytes], object]:  # fmt: skip
    """Embed the photos with the unit's own recognizer and quality bar, compute every rate at the
    policy's line (and rank-K at the policy's K unless ``top``), draw the plots and store the
    summary with its audit entry. Returns ``(summary with evaluation_id, pictures, embedded)``."""
    policy = Policy.load(store, config)
    embedded = evaluate.embed_dataset(dataset, recognizer, policy, progress=progress)
    summary = evaluate.run(embedded, line=policy.worth_examining, target_fmr=target_fmr, top_k=top or policy.top_k)
    pictures = evaluate.plots(summary, embedded)
    summary["evaluation_id"] = evaluate.save(store, summary, pictures, actor=actor, role=role, audit=audit)
    return summary, pictures, embedded
