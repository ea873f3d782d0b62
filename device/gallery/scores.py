"""What a similarity score means, in words a reviewer can use. Never "a match".

Scores are cosine similarities of SFace embeddings (-1..1). What we know, and how little:

* Same person, different photos (three real photos of one person in tests/data, and the
  observations in shared/notes/models.md): 0.67-0.80. The same photo edited (flip, JPEG, crop):
  0.94-0.98; blur or quarter resolution pulls even the same photo down to 0.70-0.80.
* Different people: at most 0.33 over 140 pairs of real faces (models.md), 0.04-0.29 on the
  test photos here. OpenCV publishes 0.363 as SFace's same/different threshold on LFW.
* So the default "worth examining" line is 0.40: above every impostor pair we have seen, below
  every genuine pair. In false-match terms that is a statement about 140 pairs only: zero false
  matches in 140 bounds the false-match rate at that line below about 2% (95% confidence, rule of
  three) and no lower. An agency must measure its own rate on its own photos with
  ``fieldface evaluate`` before relying on the line, and set ``search.worth_examining`` from it.

Whatever the score, a candidate is a lead to examine, not an identification.
"""

from __future__ import annotations

IMPOSTOR_PAIRS_SEEN = 140
IMPOSTOR_MAX_SEEN = 0.33
GENUINE_RANGE_SEEN = (0.67, 0.80)
# The same photo, re-saved, cropped or flipped, scores 0.94-0.98 and itself 1.00; two different
# photos of one person have not passed 0.80 (models.md). At or above this the probe is most likely the
# gallery's own photo (or a copy of it), which says nothing about who the person in it is.
SAME_PHOTO = 0.93


def same_photo(score: float) -> bool:
    return score >= SAME_PHOTO


def band(score: float, line: float) -> str:
    """``worth-examining`` at or above the configured line, ``below-line`` under it."""
    return "worth-examining" if score >= line else "below-line"


def explain(score: float, line: float) -> str:
    if same_photo(score):
        return (
            f"{score:.2f}: the probe looks like this gallery photo itself or a copy of it (the same picture"
            " scores 0.94-1.00; different photos of one person scored at most 0.80 in our tests). Where did the"
            " probe come from? A copy of a gallery photo is no evidence of who the person is"
        )
    if score >= line:
        return (
            f"{score:.2f} is at or above the worth-examining line {line:.2f}: examine this candidate "
            "feature by feature; a score is never an identification"
        )
    return (
        f"{score:.2f} is below the worth-examining line {line:.2f}: different people have scored up "
        f"to {IMPOSTOR_MAX_SEEN:.2f} in our tests; listed for completeness only"
    )


def meaning(line: float) -> dict:
    """The calibration facts shown beside every candidate list."""
    return {
        "line": line,
        "impostor_pairs_seen": IMPOSTOR_PAIRS_SEEN,
        "impostor_max_seen": IMPOSTOR_MAX_SEEN,
        "genuine_range_seen": list(GENUINE_RANGE_SEEN),
        "false_match_rate_at_line": (
            f"no different-person pair of {IMPOSTOR_PAIRS_SEEN} reached {line:.2f}: the false-match rate at "
            f"this line is below about {3 / IMPOSTOR_PAIRS_SEEN:.0%} (95%), and this data cannot show it lower; "
            "measure it on your own photos with 'fieldface evaluate'"
        ),
        # The same facts for someone who is not a statistician (the screen's tap-to-open panel).
        "plain": [
            "A score says how alike two faces look to the software: about 0 for unlike faces, 1.00 for the"
            " same photo. It is not a chance of being the same person, and it never says who someone is.",
            f"Candidates scoring {line:.2f} or more are worth examining. In our tests, photos of two"
            f" different people never reached {line:.2f} ({IMPOSTOR_PAIRS_SEEN} pairs tried; the highest was"
            f" {IMPOSTOR_MAX_SEEN:.2f}), and two different photos of one person scored"
            f" {GENUINE_RANGE_SEEN[0]:.2f} to {GENUINE_RANGE_SEEN[1]:.2f}.",
            f"That test was small: it only shows that fewer than about 1 in {round(IMPOSTOR_PAIRS_SEEN / 3)}"
            " pairs of strangers score above the line, not that it never happens. A high score is a reason"
            " to look closely, never a result.",
            "Candidates below the line are listed for completeness only.",
        ],
    }
