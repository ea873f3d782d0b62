"""The workflow's cache of analyses (face crops of case photos): one analysis and one embedding per
image, owned by the Workflow object, emptied by a lock, expiring on its own."""

from __future__ import annotations

from types import SimpleNamespace

from device.workflow.probe import Analyses


class CountingRecognizer:
    def __init__(self, during=None):
        self.analyzed, self.embedded, self.during = [], [], during

    def analyze(self, data):
        self.analyzed.append(data)
        if self.during:
            self.during()
        return SimpleNamespace(faces=[("face of", data)])

    def embed(self, face):
        self.embedded.append(face)
        return ("embedding of", face)


class Ticks:
    def __init__(self):
        self.t = 0.0

    def __call__(self):
        return self.t


def test_one_analysis_and_one_embedding_per_image():
    rec = CountingRecognizer()
    cache = Analyses(rec)
    assert cache.analysis(b"one", "sha1") is cache.analysis(b"one", "sha1")
    assert cache.embedding(b"one", "sha1", 0) == cache.embedding(b"one", "sha1", 0)
    assert (len(rec.analyzed), len(rec.embedded)) == (1, 1)


def test_forget_empties_the_cache_and_each_workflow_has_its_own():
    first, second = Analyses(CountingRecognizer()), Analyses(CountingRecognizer())
    first.analysis(b"one", "sha1")
    assert (len(first), len(second)) == (1, 0)
    assert first.forget() == 1 and len(first) == 0


def test_an_analysis_running_while_the_box_locks_is_not_cached_after_it():
    holder = {}
    cache = Analyses(CountingRecognizer(during=lambda: holder["cache"].forget()))
    holder["cache"] = cache
    assert cache.analysis(b"two", "sha2").faces == [("face of", b"two")]
    assert len(cache) == 0


def test_entries_expire_and_erased_images_are_dropped():
    ticks = Ticks()
    cache = Analyses(CountingRecognizer(), ttl_s=60, clock=ticks)
    cache.analysis(b"a", "a")
    cache.analysis(b"b", "b")
    cache.drop("a")
    assert len(cache) == 1
    ticks.t = 61
    assert len(cache) == 0
