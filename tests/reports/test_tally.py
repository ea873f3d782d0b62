"""The report's tally adds up: day tallies merged give the figures of the whole period, and a
corrected disposition counts once, by its last save in the period, however the days are summed."""

from __future__ import annotations

from datetime import date, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from device.audit.entry import GENESIS, Draft, Entry
from device.reports import actions as A
from device.reports import period
from device.reports import tally as T
from tests.reports.test_period import Clock

DAY0 = date(2025, 3, 1)


def _chain(steps) -> list[Entry]:
    """One unit's entries from (day offset, kind, exam, rank, disposition / verdict) steps; a
    disposition saved again for the same candidate says what it replaces, as the unit writes it."""
    clock, out, saved = Clock(), [], {}
    day = 0
    for offset, kind, exam, rank, value in steps:
        day += offset  # days only move forward: a unit's clock is monotonic within a chain
        clock.now = f"{(DAY0 + timedelta(days=day)).isoformat()}T10:00:{len(out) % 60:02d}.000000Z"
        if kind == "disposition":
            key = (exam, rank)
            before = saved.get(key)
            details = {"rank": rank, "disposition": value,
                       "replaces": {"disposition": before[0], "at": before[1]} if before else None}  # fmt: skip
            saved[key] = (value, clock.now)
            draft = Draft(A.DISPOSITION, "ex1", "examiner", f"exam:{exam}", "C-1", "ok", details)
        elif kind == "review":
            draft = Draft(A.REVIEW, "rv1", "reviewer", f"exam:{exam}", "C-1", "ok", {"verdict": value})
        else:
            draft = Draft(A.SEARCH, f"ex{rank}", "examiner", None, "C-1", "ok", {"offense": value, "candidates": 5})
        prev = out[-1].hash if out else GENESIS
        out.append(Entry.build(draft, seq=len(out) + 1, prev=prev, device="unit-a", clock=clock))
    return out


STEPS = st.lists(
    st.tuples(
        st.integers(0, 2),
        st.sampled_from(["disposition", "disposition", "review", "search"]),
        st.integers(1, 3),
        st.integers(1, 2),
        st.sampled_from(list(A.DISPOSITIONS)),
    ),
    max_size=40,
)


def _in(entries, first: date, last: date) -> list[Entry]:
    return [e for e in entries if first.isoformat() <= e.at[:10] <= last.isoformat()]


@settings(max_examples=150, deadline=None)
@given(STEPS, st.integers(0, 30), st.integers(0, 30))
def test_day_tallies_merged_give_the_period_figures(steps, a, b):
    entries = _chain(steps)
    first, last = DAY0 + timedelta(days=min(a, b)), DAY0 + timedelta(days=max(a, b))
    chosen = _in(entries, first, last)
    whole = period.compute(chosen, {}, first, last)
    summed = T.empty()
    for day_tally in T.by_day(chosen).values():
        T.merge(summed, day_tally)
    assert period.figures(summed, first, last) == whole
    # The oracle: each candidate's last save in the period, counted once.
    final = {}
    for e in chosen:
        if e.action == A.DISPOSITION:
            final[(e.object, e.details["rank"])] = e.details["disposition"]
    expected = {d: sum(1 for v in final.values() if v == d) for d in A.DISPOSITIONS}
    assert whole["dispositions"] == {**expected, "total": len(final)}


def test_a_correction_across_days_counts_once_and_only_where_its_first_save_lies():
    entries = _chain([(0, "disposition", 1, 1, "inconclusive"), (3, "disposition", 1, 1, "possible-lead")])
    both = period.compute(entries, {}, DAY0, DAY0 + timedelta(days=5))
    assert both["dispositions"] == {"possible-lead": 1, "excluded": 0, "inconclusive": 0, "total": 1}
    later = period.compute(_in(entries, DAY0 + timedelta(days=1), DAY0 + timedelta(days=5)), {},
                           DAY0 + timedelta(days=1), DAY0 + timedelta(days=5))  # fmt: skip
    assert later["dispositions"] == {"possible-lead": 1, "excluded": 0, "inconclusive": 0, "total": 1}
    earlier = period.compute(_in(entries, DAY0, DAY0 + timedelta(days=2)), {}, DAY0, DAY0 + timedelta(days=2))
    assert earlier["dispositions"] == {"possible-lead": 0, "excluded": 0, "inconclusive": 1, "total": 1}


def test_entries_without_replaces_are_deduplicated_within_one_tally():
    """Logs written before corrections said what they replace: last save per candidate, as before."""
    entries = _chain([(0, "disposition", 1, 1, "inconclusive"), (1, "disposition", 1, 1, "excluded")])
    for e in entries:
        del e.details["replaces"]
    figures = period.compute(entries, {}, DAY0, DAY0 + timedelta(days=3))
    assert figures["dispositions"] == {"possible-lead": 0, "excluded": 1, "inconclusive": 0, "total": 1}
