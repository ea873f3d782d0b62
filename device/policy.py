"""The agency policy in force: config defaults overlaid by a supervisor's recorded changes.

``config.toml`` holds the start-up defaults; a supervisor changes a setting at run time (UI or
``fieldface policy set``), which writes the ``settings`` table and an audit entry in one
transaction. A setting's key is its dotted path in the config tree, and a new value is validated by
re-validating the whole config with it, so the rules (types, ranges, ``[warn, fail]`` order) are the
config's own, stated once in device/config.py.

Use it from any package::

    from device.policy import Policy
    policy = Policy.load(store, config)     # one read of the settings table
    policy.offense_categories               # list[str]: offences a search may name
    policy.top_k                            # candidates per search
    policy.worth_examining                  # the "worth examining" line (cosine)
    policy.probe_retain_days                # days a probe image is kept with its search
    policy.gallery_retain_days              # default retention of a new subject (0 = until deleted)
    policy.audit_retain_days                # at least 365
    policy.enroll_min_quality               # "pass" | "warn"
    policy.quality                          # VisionQualityConfig: probe-quality [warn, fail] pairs
    policy.enhancement_allowed              # bool: the workflow's enhancement step
    policy.blind_review                     # bool: peer reviewer blind to the examiner's disposition
    policy.training_valid_days              # days a user's training stays valid
    policy.disclosure_unredacted_roles      # roles that may take an unredacted disclosure package
    policy.release_by                       # "supervisor" | "examiner": who releases a lead report
    policy.config                           # the whole effective Config
    policy.changed                          # {key: Change(value, updated_at, updated_by)}
    policy.reassess(face)                   # face with quality judged by the policy's thresholds
    policy.judged(analysis)                 # every face of an analysis, likewise

    set_setting(store, config, key, value, actor=..., role=..., reason=...)   # audited "policy.set"
    reset_setting(store, config, key, actor=..., role=..., reason=...)       # audited "policy.reset"

Who may change policy is the door's business (supervisor role in the UI, the unit's own Unix
account on the CLI); what a valid value is, and that every change is recorded, lives here.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from device.audit import AuditLog, Draft
from device.config import Config, VisionQualityConfig, describe_validation_error
from device.errors import UsageError
from device.store.db import utc_now

# Every setting a supervisor may change: its config path, and what it means for people.
SETTINGS: dict[str, str] = {
    "search.offense_categories": "offence categories a search may be made for",
    "search.top_k": "candidates listed per search (K)",
    "search.worth_examining": "score at or above which a candidate is shown as worth examining",
    "search.probe_retain_days": "days a probe image is kept with its search",
    "gallery.retain_days": "default retention of a new gallery subject in days (0 = until deleted)",
    "gallery.enroll_min_quality": "worst quality verdict accepted for enrollment without --force",
    "vision.quality": "probe-quality thresholds, [warn, fail] per measure",
    "policy.audit_retain_days": "days audit entries are kept (at least 365)",
    "policy.enhancement_allowed": "whether the workflow's enhancement step may be used",
    "policy.blind_review": "whether the peer reviewer must be blind to the examiner's disposition",
    "policy.training_valid_days": "days a user's recorded training stays valid",
    "policy.disclosure_unredacted_roles": "roles that may take a disclosure package without redaction",
    "policy.release_by": "who releases a concurred lead report: supervisor, or the examiner (or a supervisor)",
}


@dataclass(frozen=True)
class Change:
    value: Any
    updated_at: str
    updated_by: str


def _get(config: Config, key: str) -> Any:
    value: Any = config
    for part in key.split("."):
        value = getattr(value, part)
    return value


def _plain(value: Any) -> Any:
    """A config value as JSON data (a section becomes an object, tuples become lists)."""
    if hasattr(value, "model_dump"):
        return value.model_dump(mode="json")
    if isinstance(value, tuple | list):
        return [_plain(v) for v in value]
    return value


def _overlay(config: Config, changes: dict[str, Any]) -> Config:
    """``config`` with ``changes`` applied, validated as a whole; ValidationError if any is bad."""
    data = config.model_dump(mode="json")
    for key, value in changes.items():
        *parents, leaf = key.split(".")
        node = data
        for part in parents:
            node = node[part]
        if isinstance(node.get(leaf), dict) and isinstance(value, dict):
            # A section (vision.quality) may be changed one measure at a time: unnamed ones stay.
            value = {**node[leaf], **value}
        node[leaf] = value
    return Config.model_validate(data)


def _check_key(key: str) -> str:
    if key not in SETTINGS:
        raise UsageError(f"policy: unknown setting {key!r} (settings: {', '.join(SETTINGS)})")
    return key


def _validated(config: Config, key: str, value: Any) -> Any:
    try:
        effective = _overlay(config, {key: value})
    except ValidationError as exc:
        raise UsageError(f"policy: {describe_validation_error(exc)}") from None
    return _plain(_get(effective, key))


@dataclass(frozen=True)
class Policy:
    config: Config
    changed: dict[str, Change]

    @classmethod
    def load(cls, store, config: Config, conn=None) -> Policy:
        """The policy in force: ``config`` overlaid by the settings table (rows of other owners ignored)."""
        if conn is None:
            with store.connection() as own:
                return cls.load(store, config, own)
        rows = conn.execute("SELECT key, value, updated_at, updated_by FROM settings").fetchall()
        changed = {k: Change(json.loads(v), at, by) for k, v, at, by in rows if k in SETTINGS}
        if not changed:  # nothing overridden: the validated config itself (no re-validation per request)
            return cls(config, changed)
        try:
            effective = _overlay(config, {k: c.value for k, c in changed.items()})
        except ValidationError as exc:
            # Only reachable if the config's own rules tightened since the change was made.
            raise UsageError(
                f"policy: a stored setting no longer fits the config ({describe_validation_error(exc)}): "
                "reset it with 'fieldface policy reset'"
            ) from None
        return cls(effective, changed)

    offense_categories = property(lambda self: list(self.config.search.offense_categories))
    top_k = property(lambda self: self.config.search.top_k)
    worth_examining = property(lambda self: self.config.search.worth_examining)
    probe_retain_days = property(lambda self: self.config.search.probe_retain_days)
    gallery_retain_days = property(lambda self: self.config.gallery.retain_days)
    enroll_min_quality = property(lambda self: self.config.gallery.enroll_min_quality)
    audit_retain_days = property(lambda self: self.config.policy.audit_retain_days)
    enhancement_allowed = property(lambda self: self.config.policy.enhancement_allowed)
    blind_review = property(lambda self: self.config.policy.blind_review)
    training_valid_days = property(lambda self: self.config.policy.training_valid_days)
    disclosure_unredacted_roles = property(lambda self: list(self.config.policy.disclosure_unredacted_roles))
    release_by = property(lambda self: self.config.policy.release_by)

    @property
    def quality(self) -> VisionQualityConfig:
        return self.config.vision.quality

    def value(self, key: str) -> Any:
        return _plain(_get(self.config, _check_key(key)))

    def reassess(self, face):
        """``face`` with its quality judged by the policy's thresholds, when a supervisor changed
        them; the recognizer judged it by the thresholds it was built with (config.vision)."""
        if "vision.quality" not in self.changed:
            return face
        return dataclasses.replace(face, quality=self.judge_report(face.quality))

    def judge_report(self, report):
        """A QualityReport judged by the policy's thresholds (the live capture guidance's too)."""
        if "vision.quality" not in self.changed:
            return report
        from device.vision.quality import assess

        return assess({c.name: c.value for c in report.components}, self.quality)

    def judged(self, analysis):
        """``analysis`` with every face's quality judged by the policy's thresholds: what screens,
        audit entries and the search all show (device/workflow/probe.py)."""
        if "vision.quality" not in self.changed:
            return analysis
        return dataclasses.replace(analysis, faces=[self.reassess(face) for face in analysis.faces])

    def to_dict(self) -> dict:
        return {
            key: {
                "value": self.value(key),
                "meaning": meaning,
                "source": "supervisor" if key in self.changed else "config",
                "updated_at": self.changed[key].updated_at if key in self.changed else None,
                "updated_by": self.changed[key].updated_by if key in self.changed else None,
            }
            for key, meaning in SETTINGS.items()
        }


def _write(store, config, key, actor, role, reason, audit, apply) -> Policy:
    _check_key(key)
    reason = (reason or "").strip()
    if not reason:
        raise UsageError("policy: a change needs a reason, which is recorded")
    audit = audit or AuditLog(store)
    with store.connection() as conn, store.transaction(conn):
        before = Policy.load(store, config, conn)
        action, details = apply(conn, before)
        details.update(key=key, old=before.value(key), reason=reason[:200])
        audit.append_in(conn, [Draft(action, actor, role, f"setting:{key}", details=details)])
        return Policy.load(store, config, conn)


def set_setting(store, config: Config, key: str, value: Any, *, actor: str, role: str, reason: str,
                audit: AuditLog | None = None) -> Policy:  # fmt: skip
    """Change one setting (validated like the config), audited as ``policy.set`` in the same transaction."""

    def apply(conn, before: Policy):
        new = _validated(before.config, key, value)
        conn.execute(
            "INSERT INTO settings(key, value, updated_at, updated_by) VALUES (?, ?, ?, ?)"
            " ON CONFLICT(key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at,"
            " updated_by = excluded.updated_by",
            (key, json.dumps(new, sort_keys=True), utc_now(), actor),
        )
        return "policy.set", {"new": new}

    return _write(store, config, key, actor, role, reason, audit, apply)


def reset_setting(store, config: Config, key: str, *, actor: str, role: str, reason: str,
                  audit: AuditLog | None = None) -> Policy:  # fmt: skip
    """Drop a supervisor's change: the config default applies again. Audited as ``policy.reset``."""

    def apply(conn, before: Policy):
        if key not in before.changed:
            raise UsageError(f"policy: {key} is not changed from the config; nothing to reset")
        conn.execute("DELETE FROM settings WHERE key = ?", (key,))
        return "policy.reset", {"new": _plain(_get(config, key))}

    return _write(store, config, key, actor, role, reason, audit, apply)


def parse_value(text: str) -> Any:
    """A value typed on the command line: JSON (``25``, ``true``, ``["a","b"]``), else the plain string."""
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return text
