"""Exports verify with the public key alone, and every edit of the file is named."""

import io
import json

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from device.audit.export import export, verify_export
from device.audit.signing import DeviceSigner, parse_public_key


@pytest.fixture
def lines(filled):
    buf = io.StringIO()
    assert export(filled, buf) == (10, 10)
    return buf.getvalue().splitlines()


def kinds(report):
    return [(p.kind, p.seq) for p in report.problems]


def test_honest_export_verifies(lines, public_key):
    report = verify_export(lines, public_key)
    assert report.ok and report.entries == 10 and report.head_seq == 10
    assert json.loads(lines[0])["type"] == "header" and json.loads(lines[-1])["type"] == "end"


def test_export_after_seq(filled, public_key):
    buf = io.StringIO()
    assert export(filled, buf, after=7) == (3, 10)
    report = verify_export(buf.getvalue().splitlines(), public_key)
    assert report.ok and report.entries == 3


def test_empty_export_after_the_head_verifies(filled, public_key):
    buf = io.StringIO()
    assert export(filled, buf, after=10) == (0, 10)
    assert verify_export(buf.getvalue().splitlines(), public_key).ok


def _edit(lines, index, **changes):
    obj = json.loads(lines[index])
    obj.update(changes)
    return [*lines[:index], json.dumps(obj), *lines[index + 1 :]]


def test_edited_line(lines, public_key):
    assert ("edited", 3) in kinds(verify_export(_edit(lines, 3, actor="mallory"), public_key))


def test_deleted_line(lines, public_key):
    assert kinds(verify_export(lines[:5] + lines[6:], public_key))[0] == ("deleted", 5)


def test_reordered_lines(lines, public_key):
    swapped = [*lines[:4], lines[5], lines[4], *lines[6:]]
    found = kinds(verify_export(swapped, public_key))
    assert ("reordered", 4) in found


def test_inserted_line(lines, public_key):
    """A well-formed entry 5 (right hash, linked to 4) slipped in before the real entry 5."""
    from device.audit.entry import digest

    fake = json.loads(lines[5])
    del fake["type"], fake["hash"]
    fake["actor"] = "mallory"
    fake_line = json.dumps({"type": "entry", **fake, "hash": digest(fake)})
    found = kinds(verify_export([*lines[:5], fake_line, *lines[5:]], public_key))
    assert found[0] == ("inserted", 5)


def test_truncated_file(lines, public_key):
    found = kinds(verify_export(lines[:7], public_key))
    assert found == [("truncated", 7)]


def test_truncated_with_an_old_end_line_moved_up(lines, public_key):
    assert ("truncated", 7) in kinds(verify_export([*lines[:7], lines[-1]], public_key))


def test_the_wrong_key_rejects_the_export(lines):
    other = parse_public_key(DeviceSigner(Ed25519PrivateKey.generate(), "x").public_key_hex)
    assert ("forged", 10) in kinds(verify_export(lines, other))


def test_not_an_export(public_key):
    assert verify_export(["hello"], public_key).problems[0].kind == "edited"
