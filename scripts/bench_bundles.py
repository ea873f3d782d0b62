#!/usr/bin/env python3
"""Gallery distribution measurements for issue 16: prints numbers side by side, asserts nothing.

    .venv/bin/python scripts/bench_bundles.py [--subjects 10000] [--delta 100]

1. A central gallery of N subjects x 2 images: full bundle build time and size; transfer over a
   local TLS mosquitto from docs/broker/ (central publishes retained chunks with QoS 1, the unit
   collects them); apply on this box (decrypt, verify, one transaction, index build).
   Beside it: the alternative a field unit has without bundles, enrolling the same images on the
   box (`fieldface enroll`: detect, align, embed, write), timed on a sample and scaled.
2. A delta of D new subjects on top: size and apply time, beside a full bundle of the same version.
3. An erasure order end to end on a live link: from `central gallery erase` to the unit's proof
   stored centrally (order over MQTT, applied by a running `gallery fetch`, the proof entry synced
   by the running audit publisher and verified by a running receiver). Target <= 5 s.

The central gallery is filled directly (rows written with the authority's own sealing), not through
`central gallery enroll`: that is the unit's enrollment pipeline, timed as the alternative above.
Each subject's images are distinct JPEGs (re-encoded crops of the test photos, ~20 KB, a real
mugshot's size) carrying the embedding of their source photo for the unit's model.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import shutil
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "scripts"))

import cv2  # noqa: E402
import numpy as np  # noqa: E402
from bench_central import Site  # noqa: E402

from device.audit import AuditLog  # noqa: E402
from device.audit.card import make_card  # noqa: E402
from device.central.gallery import authority, publish  # noqa: E402
from device.central.gallery.agency import AgencyKey  # noqa: E402
from device.central.gallery.delivery import _send, bundle_messages  # noqa: E402
from device.central.gallery.status import status  # noqa: E402
from device.central.mqtt import run_receiver  # noqa: E402
from device.central.store import CentralStore, SqliteBackend  # noqa: E402
from device.config import KeysConfig, validate_config  # noqa: E402
from device.gallery import Actor, Gallery, SubjectInfo  # noqa: E402
from device.gallery.central import apply_file, bundle_key, trust  # noqa: E402
from device.gallery.delivery import fetch  # noqa: E402
from device.gallery.index import vector_to_blob  # noqa: E402
from device.keys import MasterSecret  # noqa: E402
from device.store import init_data_dir  # noqa: E402
from device.sync.service import run_publisher  # noqa: E402
from device.vision import Recognizer  # noqa: E402
from tests.conftest import FAST_KEYS  # noqa: E402
from tests.sync.broker import RECEIVERS  # noqa: E402
from tests.vision.conftest import photo_bytes  # noqa: E402

GALLERY, PREFIX, UNIT = "wanted", "fieldface/gallery", "bench-unit"
SOURCES = ("obama.jpg", "obama3.jpg", "biden.jpg", "obama2.jpg")


def mib(n: int) -> str:
    return f"{n / 2**20:.1f} MiB"


def sources(recognizer):
    """Each test photo as a ~320 px crop (decoded) with its embedding and face record."""
    out = []
    for name in SOURCES:
        data = photo_bytes(name)
        analysis = recognizer.analyze(data)
        face = analysis.faces[0]
        img = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
        scale = 320 / img.shape[1]
        small = cv2.resize(img, (320, int(img.shape[0] * scale)))
        meta = {"format": "jpeg", "width": small.shape[1], "height": small.shape[0], "face_index": 0,
                "quality": face.quality.to_dict()}  # fmt: skip
        out.append((small, recognizer.embed(face), meta))
    return out


def fill(store, agency, srcs, first: int, count: int) -> None:
    """Subjects first..first+count-1, two distinct images each, in one transaction."""
    with authority.transaction(store) as cur:
        for i in range(first, first + count):
            version = authority._bump(store, cur, GALLERY)
            ref = f"REC-{i:06d}"
            authority.q(store, cur,
                        "INSERT INTO central_subjects(gallery, reference, display_name, category, legal_basis, source,"
                        " retain_until, enrolled_by, enrolled_at, changed_version) VALUES (?, ?, ?, '', ?, '', NULL,"
                        " 'bench', ?, ?)",
                        (GALLERY, ref, f"Subject {i}", "bench: synthetic", "2026-01-01", version))  # fmt: skip
            for j in range(2):
                small, emb, meta = srcs[(2 * i + j) % len(srcs)]
                img = small.copy()
                img[0, :8] = np.frombuffer(hashlib.sha256(f"{i}/{j}".encode()).digest()[:24], np.uint8).reshape(8, 3)
                data = cv2.imencode(".jpg", img, [cv2.IMWRITE_JPEG_QUALITY, 85])[1].tobytes()
                sha = hashlib.sha256(data).hexdigest()
                where = f"{GALLERY}/{sha}"
                authority.q(store, cur,
                            "INSERT INTO central_images(gallery, reference, sha256, meta, model_id, image, embedding,"
                            " added_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                            (GALLERY, ref, sha, json.dumps(meta), emb.model_id, agency.seal(data, where),
                             agency.seal(vector_to_blob(emb.vector), where + "/embedding"), "2026-01-01"))  # fmt: skip


def transfer(site: Site, receiver_cfg, unit_broker, data: bytes, manifest: dict) -> tuple[float, float]:
    """(publish until every PUBACK, until the unit holds every chunk) in seconds."""
    from device.gallery.delivery import fleet_topics
    from device.sync.mqtt import connect_async, make_client

    wanted = len(manifest["chunks"])
    got, done, ready = {}, threading.Event(), threading.Event()
    client = make_client("bench-unit-collect", unit_broker)
    client.on_connect = lambda c, u, f, rc, p: c.subscribe([(t, 1) for t in fleet_topics(PREFIX)])
    client.on_subscribe = lambda *a: ready.set()

    def on_message(c, u, m):
        parts = m.topic.split("/")
        if "chunk" in parts and hashlib.sha256(m.payload).hexdigest() == manifest["chunks"][int(parts[-1])]["sha256"]:
            got[int(parts[-1])] = True
            if len(got) == wanted:
                done.set()

    client.on_message = on_message
    connect_async(client, unit_broker, persistent=False)
    client.loop_start()
    ready.wait(30)
    start = time.perf_counter()
    _send(receiver_cfg, bundle_messages(PREFIX, data, manifest))
    published = time.perf_counter() - start
    done.wait(600)
    received = time.perf_counter() - start
    client.disconnect()
    client.loop_stop()
    return published, received


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--subjects", type=int, default=10_000)
    ap.add_argument("--delta", type=int, default=100)
    ap.add_argument("--sample", type=int, default=20, help="images enrolled on the box for the alternative")
    args = ap.parse_args()
    root = Path(tempfile.mkdtemp(prefix="bench-bundles-"))
    site = Site(root)
    keys = KeysConfig(**FAST_KEYS)
    secret = MasterSecret(b"bench unit key, not a real one", "key file")
    unit_cfg = validate_config({"keys": FAST_KEYS, "device": {"id": UNIT},
                                "sync": {"broker": site.broker_cfg(UNIT)}})  # fmt: skip
    rc_cfg = validate_config({"keys": FAST_KEYS, "receiver": {"broker": site.broker_cfg(RECEIVERS[0]),
                                                              "client_id": RECEIVERS[0]}})  # fmt: skip
    recognizer = Recognizer.from_config(unit_cfg.vision)
    central_secret = MasterSecret(b"bench central key, not a real one", "key file")
    hq = CentralStore(SqliteBackend(root / "hq" / "central.db", central_secret, keys), create=True)
    agency = AgencyKey(hashlib.sha256(b"bench agency").digest())
    store = init_data_dir(root / "unit", secret, unit_cfg, device_id=UNIT)
    unit = Gallery(store, recognizer, unit_cfg)
    card = make_card(unit.audit, UNIT, bundle_key(store))
    hq.add_unit(UNIT, UNIT, card["audit_key"], json.dumps(card), "bench")
    trust(store, agency.public + " bench", "bench", unit.now(), unit.audit)
    srcs = sources(recognizer)
    print(f"subjects {args.subjects} x 2 images, delta {args.delta}; model {recognizer.model_id}")

    t = time.perf_counter()
    fill(hq, agency, srcs, 0, args.subjects)
    print(f"central fill (sealing, not timed as a feature): {time.perf_counter() - t:.1f} s")
    t = time.perf_counter()
    full, m_full = publish.build(hq, agency, GALLERY)
    build_s = time.perf_counter() - t
    print(f"full bundle: build {build_s:.1f} s, size {mib(len(full))} ({len(full) / args.subjects / 1024:.1f} KiB"
          f"/subject), {len(m_full['chunks'])} chunks")  # fmt: skip
    pub_s, recv_s = transfer(site, rc_cfg.receiver, unit_cfg.sync.broker, full, m_full)
    print(f"transfer over local TLS mosquitto: published (all PUBACKs) {pub_s:.1f} s, unit holds every chunk "
          f"{recv_s:.1f} s ({len(full) / 2**20 / recv_s:.1f} MiB/s)")  # fmt: skip
    t = time.perf_counter()
    out = apply_file(unit, full, "bench")
    apply_s = time.perf_counter() - t
    print(f"apply on this box: {apply_s:.1f} s ({out.added} subjects, {1000 * apply_s / args.subjects:.2f} ms/subject,"
          f" index included)")  # fmt: skip

    # The alternative: enrolling the same kind of images on the box, one by one.
    sample = []
    for i in range(args.sample):
        small, _e, _m = srcs[i % len(srcs)]
        img = small.copy()
        img[0, 0] = (i, i, i)
        sample.append((f"s{i}", cv2.imencode(".jpg", img, [cv2.IMWRITE_JPEG_QUALITY, 85])[1].tobytes()))
    t = time.perf_counter()
    unit.enroll(SubjectInfo("Sample", "bench", "local-sample", "S-1"), sample, Actor("bench", "supervisor"))
    per_image = (time.perf_counter() - t) / len(sample)
    print(
        f"alternative, enrolling on the box: {1000 * per_image:.0f} ms/image -> "
        f"{2 * args.subjects * per_image / 60:.1f} min for the same gallery (vs {apply_s / 60:.1f} min applied)"
    )

    fill(hq, agency, srcs, args.subjects, args.delta)
    t = time.perf_counter()
    delta, _m = publish.build(hq, agency, GALLERY, base=m_full["version"])
    dbuild = time.perf_counter() - t
    t = time.perf_counter()
    full2, _ = publish.build(hq, agency, GALLERY, base=0)
    fbuild = time.perf_counter() - t
    t = time.perf_counter()
    out = apply_file(unit, delta, "bench")
    dapply = time.perf_counter() - t
    print(
        f"delta of {args.delta}: build {dbuild:.2f} s, size {mib(len(delta))}, apply {dapply:.2f} s "
        f"(vs a full bundle of the same version: build {fbuild:.1f} s, size {mib(len(full2))})"
    )

    # Erasure order end to end on a live link.
    stop = threading.Event()
    rx_store = CentralStore(SqliteBackend(root / "hq" / "central.db", central_secret, keys))
    rx = threading.Thread(target=run_receiver, args=(rc_cfg.receiver, rx_store), kwargs={"stop": stop}, daemon=True)
    rx.start()
    pub_audit = AuditLog(store)
    px = threading.Thread(target=run_publisher, args=(pub_audit, unit_cfg.sync), kwargs={"stop": stop}, daemon=True)
    px.start()
    time.sleep(3)  # both connected and the backlog drained before the clock starts
    results: list = []
    # The unit's fetch first receives what is retained (the full bundle, already held): let that
    # pass before the clock starts, so the order is not timed behind it.
    settle = 2 + len(full) / (40 * 2**20)
    fx = threading.Thread(
        target=lambda: results.extend(fetch(unit, unit_cfg.sync.broker, PREFIX, "bench", idle_s=settle + 15))
    )
    fx.start()
    time.sleep(settle)
    t = time.perf_counter()
    order = authority.erase(hq, agency, "REC-000007", "bench: legal basis ended", "bench")
    _send(rc_cfg.receiver, [(f"{PREFIX}/fleet/orders/{order['order']}", json.dumps(order["envelope"]).encode())])
    while time.perf_counter() - t < 60:
        (o,) = [x for x in status(hq)["orders"] if x["order"] == order["order"]]
        if UNIT in o["applied"]:
            break
        time.sleep(0.05)
    e2e = time.perf_counter() - t
    print(
        f"erasure order end to end (central erase -> proof stored centrally): {e2e:.2f} s (target <= 5 s); "
        f"proof seq {o['applied'].get(UNIT, {}).get('seq')}"
    )
    stop.set()
    fx.join()
    px.join(10)
    rx.join(10)
    site.close()
    shutil.rmtree(root, ignore_errors=True)
    print(f"({datetime.now(UTC):%Y-%m-%d %H:%M} UTC)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
