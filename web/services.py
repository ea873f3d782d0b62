"""The domain services a request uses, built once per unlocked store and shared by its threads.

The store can change under a running app (the appliance locks and unlocks it), so the bundle is
keyed by the store object; the recognizer (the loaded models) is built once per process.
"""

from __future__ import annotations

from dataclasses import dataclass

from flask import current_app

from device.audit import AuditLog
from device.gallery import Gallery
from device.workflow import Workflow
from web.db import get_store


def _lock(app):
    return app.extensions["fieldface_locks"]["services"]


@dataclass
class Services:
    store: object
    audit: AuditLog
    gallery: Gallery
    workflow: Workflow


def recognizer():
    app = current_app
    with _lock(app):
        rec = app.config.get("FIELDFACE_RECOGNIZER")
        if rec is None:
            from device.vision import Recognizer

            rec = Recognizer.from_config(app.config["FIELDFACE_CONFIG"].vision)
            rec.decoder.warm()  # the decoding children start now, not under the first upload
            app.config["FIELDFACE_RECOGNIZER"] = rec
    return rec


def services() -> Services:
    store = get_store()
    if store is None:
        from device.errors import LockedError

        raise LockedError("the box is locked")
    app = current_app
    cache = app.extensions.setdefault("fieldface", {})
    bundle = cache.get("services")
    if bundle is None or bundle.store is not store:
        rec = recognizer()
        with _lock(app):
            bundle = cache.get("services")
            if bundle is None or bundle.store is not store:
                config = app.config["FIELDFACE_CONFIG"]
                audit = AuditLog(store)
                gallery = Gallery(store, rec, config, audit)
                workflow = Workflow(store, audit, gallery, config, runtime_dir=config.hooks.runtime_dir)
                bundle = Services(store, audit, gallery, workflow)
                cache["services"] = bundle
    return bundle


def drop(app) -> None:
    """The box is locking: let go of everything this process holds about the unlocked store.

    The store's keys are wiped by the appliance; what is left here is the audit log's open
    (keyed) database connection, the gallery's in-memory indexes (embeddings of enrolled
    people), the workflow's cache of recent analyses (face crops of case photos), the camera, and
    the image-decoding children (their memfds hold the last photo's bytes and pixels).
    After the next unlock ``services()`` builds a fresh bundle and the camera reopens on demand.
    """
    from web.camera import close_camera

    cache = app.extensions.setdefault("fieldface", {})
    with _lock(app):
        bundle = cache.pop("services", None)
    if bundle is not None:
        bundle.gallery.close()
        bundle.audit.close()
        bundle.workflow.forget_analyses()
    close_camera(app)
    rec = app.config.get("FIELDFACE_RECOGNIZER")
    if rec is not None:
        rec.decoder.close()  # its children hold the last photo; started again by the next image
