"""When the box locks, the web process lets go of what it held; after the unlock everything works again."""

from __future__ import annotations

import gc
import os
import weakref

from device import service
from device.camera import open_camera
from tests.web.conftest import login
from tests.web.test_camera import camera_config, capture
from tests.workflow.conftest import NEXT_YEAR
from web import create_app
from web.camera import holder


def test_lock_drops_services_cache_and_camera_and_unlock_restores_them(tmp_path, store, recognizer, key_file):
    config = camera_config(tmp_path)
    appliance = service.Appliance(store.data_dir, config, env={"FIELDFACE_KEY_FILE": str(key_file)})
    assert appliance.start(store)
    app = create_app(appliance.store, config, {"TESTING": True, "FIELDFACE_RECOGNIZER": recognizer},
                     appliance=appliance)  # fmt: skip
    try:
        with app.app_context():
            from web.services import services

            bundle = services()
            boss = bundle.workflow.first_run("boss", "Boss", "correct horse battery", NEXT_YEAR)
            bundle.workflow.create_user(boss, "exa", "Exa", "correct horse battery", ["examiner"], NEXT_YEAR)
        exa = login(app, "exa", "correct horse battery")
        assert capture(exa).status_code == 302
        assert exa.get("/cases/1/probe").status_code == 200
        # A failed login is audited through the log's own long-lived connection.
        assert app.test_client().post("/login", data={"username": "nobody", "password": "wrong"}).status_code == 401
        analyses = bundle.workflow.analyses  # the cache is the workflow's, not the module's
        assert len(analyses) > 0 and holder(app).is_open and bundle.audit._conn is not None
        decoders = recognizer.decoder.pids()
        assert decoders, "the decoding children hold the last photo in their memfds"
        gallery, workflow, audit = weakref.ref(bundle.gallery), weakref.ref(bundle.workflow), bundle.audit
        del bundle

        appliance.lock("operator")

        assert len(analyses) == 0, "no face crops of case photos stay in memory"
        del analyses
        assert recognizer.decoder.pids() == [] and not any(os.path.exists(f"/proc/{p}") for p in decoders)
        assert "services" not in app.extensions["fieldface"]
        assert audit._conn is None, "the audit log's keyed connection is closed"
        signer, audit = weakref.ref(audit), None
        gc.collect()
        assert gallery() is None and workflow() is None, "the gallery (and its indexes) and the workflow are gone"
        assert signer() is None, "and so is the audit log with its signing key"
        assert not holder(app).is_open
        with open_camera(config.camera):
            pass  # another process could take the camera now: this one let it go
        assert exa.get("/cases/new").headers["Location"].endswith("/unlock")
        assert exa.get("/camera/preview.mjpg").headers["Location"].endswith("/unlock")

        passphrase = key_file.read_text().strip()
        assert app.test_client().post("/unlock", data={"passphrase": passphrase}).status_code == 302
        exa = login(app, "exa", "correct horse battery")
        assert 'id="capture"' in exa.get("/cases/new").get_data(as_text=True)
        assert capture(exa, case="C-CAM-2").status_code == 302
        assert "C-CAM-2" in exa.get("/cases").get_data(as_text=True)
    finally:
        holder(app).close()
        appliance.lock("test over")
