"""The audit actions the accountability report counts: the one table to keep aligned with the recorders.

Each name is what the recording code passes to ``Draft(...)`` / ``AuditLog.record(...)``; the
detail fields named here are the ones the report reads from that entry's ``details``. When a
recorder renames an action or a field, change it here and nowhere else (tests/reports builds its
hand-made audit log from this table too, and one test runs the real gallery code against it).
"""

from __future__ import annotations

# --- gallery and search (device/gallery) ---------------------------------------------------------
SEARCH = "search"  # details: offense, candidates, worth_examining, quality_override (when overridden)
SEARCH_REFUSED = "search.refused"  # details: reason ("quality", ...), offense
ENROLL = "gallery.enroll"  # one entry per image; details: new_subject, forced (reason, when below the bar)
DELETE_SUBJECT = "gallery.delete_subject"  # details: images, embeddings, reason
PURGE_SUBJECT = "purge.subject"  # retention: one entry per subject erased; details: images
PURGE_PROBES = "purge.probes"  # retention: details: count, held (list of search ids kept)
LEGAL_HOLD = "case.legal_hold"  # details: hold (bool)

# --- the five-step workflow (device/workflow) ----------------------------------------------------
ENHANCE = "exam.enhance"  # one entry per enhancement operation
QUALITY_OVERRIDE = "exam.quality_override"  # a supervisor lets a failing probe be searched
DISPOSITION = "exam.disposition"  # details: disposition
DISPOSITION_FIELD = "disposition"
DISPOSITIONS = ("possible-lead", "excluded", "inconclusive")
REVIEW = "exam.review"  # details: verdict
REVIEW_FIELD = "verdict"
CONCUR, DISSENT = "concur", "dissent"
LEAD_RELEASE = "exam.release"  # a possible-match lead released after concurrence
LOGIN, LOGIN_FAILED, LOGIN_LOCKOUT = "login", "login.failed", "login.lockout"

# --- accountability itself (device/policy.py, device/reports) ------------------------------------
POLICY_SET = "policy.set"  # details: key, old, new, reason
POLICY_RESET = "policy.reset"
REPORT = "report.generate"  # details: from, to, format, entries, sha256
EVALUATION = "evaluation.run"  # details: evaluation_id, model_id, data_sha256, counts, rates
PACKAGE = "package.create"  # a disclosure package (device/disclosure); details: redacted, encrypted, sha256

# The search details field that carries a quality override's reason, and enrollment's.
SEARCH_OVERRIDE_FIELD = "quality_override"
ENROLL_FORCED_FIELD = "forced"

# Every name above, for the report's "actions seen that the report does not count" line.
COUNTED = frozenset({
    SEARCH, SEARCH_REFUSED, ENROLL, DELETE_SUBJECT, PURGE_SUBJECT, PURGE_PROBES, LEGAL_HOLD, ENHANCE,
    QUALITY_OVERRIDE, DISPOSITION, REVIEW, LEAD_RELEASE, LOGIN, LOGIN_FAILED, LOGIN_LOCKOUT, POLICY_SET,
    POLICY_RESET, REPORT, EVALUATION, PACKAGE,
})  # fmt: skip
