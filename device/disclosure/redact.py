"""Redaction: candidates other than the lead may be withheld from a package, as the policy says.

A redacted candidate keeps its rank, score, band, disposition, reasons and checklist (how the
examiner got to the lead is the point of disclosure) but loses its face image and name, which
are replaced by a statement and a hash. The hash is SHA-256 over the withheld facts *and the
gallery image's own SHA-256*: that hash is unguessable, so the redaction hash cannot be tested
against a list of names, yet a court that later orders the unredacted package can check that it
holds the very candidate that was withheld.

Only the roles in ``policy.disclosure_unredacted_roles`` may take a package without redaction.
What stays: the gallery reference (the signed ``search`` audit entry lists candidates by
reference, and the audit entries cannot be edited without breaking their signatures), and the
examiner's free-text notes and reasons (disclosure material in their own right).
"""

from __future__ import annotations

import hashlib

from device.audit.entry import canonical
from device.errors import NotAllowedError

STATEMENT = (
    "REDACTED: this candidate's face image and name are withheld from this copy of the package under the "
    "agency's disclosure policy. They are held on the unit; the unredacted package is available to the roles "
    "the policy names. The redaction hash below identifies exactly what was withheld."
)


def check_allowed(user, policy, redacted: bool) -> None:
    if redacted:
        return
    roles = policy.disclosure_unredacted_roles
    if not user.has(*roles):
        raise NotAllowedError(
            "the unredacted package is only for the role(s) " + ", ".join(roles)
            + f" under the agency's disclosure policy; {user.username} may take the redacted package"
        )  # fmt: skip


def redaction_hash(row: dict) -> str:
    withheld = {"rank": row["rank"], "subject_id": row["subject_id"], "display_name": row["display_name"],
                "image_sha256": row.get("image_sha256")}  # fmt: skip
    return hashlib.sha256(canonical(withheld)).hexdigest()


def redact(facts, lead_rank: int | None) -> list[dict]:
    """Withhold every candidate but the lead (in place); returns the record of each redaction."""
    done = []
    for row in facts.candidates:
        if row["rank"] == lead_rank or row["erased"]:
            continue  # the lead is disclosed; an erased subject has neither image nor name left
        digest = redaction_hash(row)
        facts.candidate_images.pop(row["rank"], None)
        row.update(display_name="[redacted]", image=None, image_sha256=None, redacted=True,
                   redaction={"statement": STATEMENT, "sha256": digest})  # fmt: skip
        done.append({"rank": row["rank"], "sha256": digest})
    return done
