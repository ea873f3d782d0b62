"""The cache of recent analyses (face crops of case photos) is emptied by a lock and stays empty."""

from __future__ import annotations

from types import SimpleNamespace

from device.workflow import cases


def _wf(analyze):
    return SimpleNamespace(gallery=SimpleNamespace(recognizer=SimpleNamespace(analyze=analyze)))


def test_forget_empties_the_cache():
    cases.forget_analyses()
    cases.analyze(_wf(lambda data: ("analysis of", data)), b"one")
    assert cases.cached_analyses() == 1
    assert cases.forget_analyses() == 1 and cases.cached_analyses() == 0


def test_an_analysis_running_while_the_box_locks_is_not_cached_after_it():
    cases.forget_analyses()

    def locked_meanwhile(data):
        cases.forget_analyses()  # the lock lands while this analysis runs
        return ("analysis of", data)

    assert cases.analyze(_wf(locked_meanwhile), b"two") == ("analysis of", b"two")
    assert cases.cached_analyses() == 0
