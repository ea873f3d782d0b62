"""Simulated units for the console's demo, its tests and the scale script: real Ed25519 keys, real
chained entries (device/audit/entry.py), signed heads, delivered through the one verifier
(``Verifier.accept``, what MQTT and removable media call). Nothing here is faked but the units'
hardware: central cannot tell these chains from a real unit's.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from types import SimpleNamespace

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey

from device.audit.card import make_card
from device.audit.entry import GENESIS, Draft, Entry
from device.audit.epoch import epoch_draft
from device.audit.signing import DeviceSigner


class _Clock:
    def __init__(self):
        self.now, self.mono = "2026-01-01T00:00:00.000Z", 0

    def utc(self) -> str:
        return self.now

    def monotonic_ns(self) -> int:
        self.mono += 1_000_000
        return self.mono

    def boot_id(self) -> str:
        return "sim-boot"


def stamp(t: datetime) -> str:
    return t.strftime("%Y-%m-%dT%H:%M:%S.") + f"{t.microsecond // 1000:03d}Z"


class SimUnit:
    def __init__(self, unit: str, name: str, seed: bytes | None = None):
        self.unit, self.name = unit, name
        key = Ed25519PrivateKey.from_private_bytes(seed) if seed else Ed25519PrivateKey.generate()
        self.signer = DeviceSigner(key, unit)
        # What the agency wraps a bundle's content key for (the card's bundle_key), as a real unit's.
        self.bundle_key = X25519PrivateKey.generate()
        self.entries: list[Entry] = []
        self.clock = _Clock()

    @property
    def audit_key(self) -> str:
        return f"ed25519:{self.signer.public_key_hex}"

    def card(self) -> dict:
        """Its self-signed unit card (device/audit/card.py), as ``fieldface unit-card`` makes it."""
        from device.gallery.bundle import x25519_public_text

        signed_by = SimpleNamespace(device_id=self.unit, signer=self.signer)
        return make_card(signed_by, self.name, x25519_public_text(self.bundle_key))

    def register(self, store, by: str = "demo") -> None:
        store.add_unit(self.unit, self.name, self.audit_key, json.dumps(self.card()), by)

    def record(self, at: datetime, action: str, actor: str = "ex1", role: str = "examiner", outcome: str = "ok",
               case: str | None = None, **details) -> Entry:  # fmt: skip
        return self.append(at, Draft(action, actor, role, None, case, outcome, details))

    def append(self, at: datetime, draft: Draft) -> Entry:
        self.clock.now = stamp(at)
        prev = self.entries[-1].hash if self.entries else GENESIS
        entry = Entry.build(draft, seq=len(self.entries) + 1, prev=prev, device=self.unit, clock=self.clock)
        self.entries.append(entry)
        return entry

    def apply_bundle(self, at: datetime, manifest: dict, digest: str | None = None, actor: str = "sup1") -> Entry:
        """The acknowledgement a unit writes once it applied a bundle (device/gallery/central.py):
        the version, the bundle's hash and the digest of its resulting gallery (``digest``: another
        one than the bundle promised, for a unit whose gallery came out different)."""
        from device.gallery.bundle import manifest_hash

        details = {"gallery": manifest["gallery"], "bundle_version": int(manifest["version"]),
                   "bundle_hash": manifest_hash(manifest), "base": int(manifest["base"]),
                   "digest": digest or manifest["digest"], "added": manifest["subjects"], "changed": 0, "removed": 0,
                   "agency": manifest["agency"]}  # fmt: skip
        return self.append(at, Draft("gallery.bundle_applied", actor, "system", f"gallery:{manifest['gallery']}",
                                     details=details))  # fmt: skip

    def apply_order(self, at: datetime, envelope: dict, subjects: int = 1, actor: str = "sup1") -> Entry:
        """The proof a unit writes once it applied an erasure order (device/gallery/central.py)."""
        from device.gallery.bundle import manifest_hash

        m = envelope["manifest"]
        details = {"order": m["order"], "order_hash": manifest_hash(m), "agency": m["agency"],
                   "reference": m["reference"], "subjects": subjects, "erasure_seqs": []}  # fmt: skip
        draft = Draft("gallery.erasure_applied", actor, "system", f"order:{m['order']}", details=details)
        return self.append(at, draft)

    def deliver(self, verifier, first: int = 1, last: int | None = None, via: str = "mqtt"):
        """Hand ``first..last`` (default: all) to the verifier with the signed head over ``last``."""
        run = [e for e in self.entries if first <= e.seq <= (last or len(self.entries))]
        tail = run[-1]
        return verifier.accept(self.unit, run, {tail.seq: self.signer.sign_head(tail.seq, tail.hash)}, via)

    def restore(self, backup_seq: int, at: datetime) -> Entry:
        """The card is lost after ``backup_seq``: the unit's log goes back to it and a signed epoch
        entry (as device/audit/epoch.py writes it) opens the new timeline."""
        self.entries = self.entries[:backup_seq]
        head = self.entries[-1]
        manifest = {"created_at": head.at, "db_sha256": "0" * 64}
        return self.append(
            at, epoch_draft(manifest, f"{self.unit}-{head.at[:10]}.ffb", (head.seq, head.hash), "os:root")
        )


def workday(unit: SimUnit, day: datetime, n: int, users=("ex1", "ex2"), offenses=("robbery", "fraud")) -> None:
    """A plausible day: logins, searches with a purpose, dispositions, reviews, a release."""
    t = day.replace(hour=8)
    for i in range(n):
        user = users[i % len(users)]
        offense = offenses[i % len(offenses)]
        case = f"2026-{unit.unit[-1]}{i:04d}"
        unit.record(t, "login", user, "examiner")
        unit.record(t + timedelta(minutes=1), "search", user, "examiner", case=case, offense=offense,
                    purpose="investigation", candidates=20, worth_examining=i % 3)  # fmt: skip
        unit.record(t + timedelta(minutes=5), "exam.disposition", user, "examiner", case=case,
                    disposition=("possible-lead", "excluded", "inconclusive")[i % 3], rank=1)  # fmt: skip
        if i % 3 == 0:
            unit.record(t + timedelta(minutes=9), "exam.review", "rv1", "reviewer", case=case,
                        verdict="dissent" if len(unit.entries) % 4 == 0 else "concur")  # fmt: skip
            unit.record(t + timedelta(minutes=12), "exam.release", "sup1", "supervisor", case=case, lead_rank=1)
        t += timedelta(minutes=20)
