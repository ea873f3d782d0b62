"""The encrypted gallery: subjects, face images, embeddings, the USearch index, search, erasure.

Entry point: ``Gallery(store, recognizer, config, audit)`` (device/gallery/service.py).
"""

from device.gallery.enroll import EnrollReport, SubjectInfo
from device.gallery.search import Probe, SearchRequest, SearchResult
from device.gallery.service import Actor, Gallery

__all__ = ["Actor", "EnrollReport", "Gallery", "Probe", "SearchRequest", "SearchResult", "SubjectInfo"]
