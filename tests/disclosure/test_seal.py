"""A package sealed to its recipient: unreadable on the way, whole after opening, and audited as such."""

from __future__ import annotations

import hashlib
import io
import zipfile

import pytest

from device.audit.signing import parse_public_key
from device.disclosure import make_package, verify_package
from device.disclosure.seal import keygen, open_sealed, parse_private, parse_recipient
from device.errors import UsageError
from tests.disclosure.conftest import LEAD_NAME, released
from tests.vision.conftest import photo_bytes


def test_a_sealed_package_hides_everything_and_opens_only_with_the_recipients_key(wf, people, tmp_path):
    released(wf, people)
    private, public = keygen()
    sealed = make_package(wf, people["boss"], "CASE-1", redacted=False, recipient=parse_recipient(public))
    assert sealed.filename.endswith(".zip.sealed")
    for needle in (LEAD_NAME.encode(), b"Person B", photo_bytes("obama.jpg")[:2048], photo_bytes("biden.jpg")[:2048],
                   b"report.pdf", b"%PDF"):  # fmt: skip
        assert needle not in sealed.data
    (tmp_path / "p.sealed").write_bytes(sealed.data)
    key = parse_public_key(wf.audit.signer.public_key_hex)
    [finding] = verify_package(tmp_path / "p.sealed", key).findings
    assert finding.kind == "unreadable" and "open it first" in finding.message
    inner = open_sealed(sealed.data, parse_private(private))
    assert hashlib.sha256(inner).hexdigest() == sealed.sha256
    (tmp_path / "p.zip").write_bytes(inner)
    assert verify_package(tmp_path / "p.zip", key).ok
    with zipfile.ZipFile(io.BytesIO(inner)) as archive:
        assert LEAD_NAME.encode() in archive.read("candidates.json")
    [made] = [e for e in wf.audit.entries() if e.action == "package.create"]
    assert made.details["encrypted"] is True and made.details["recipient"] == public
    assert made.details["sealed_sha256"] == hashlib.sha256(sealed.data).hexdigest()
    # another key, a changed byte, something that is not sealed: refused, in words
    other, _ = keygen()
    with pytest.raises(UsageError, match="another recipient"):
        open_sealed(sealed.data, parse_private(other))
    changed = bytearray(sealed.data)
    changed[-100] ^= 0x01
    with pytest.raises(UsageError, match="changed or cut short"):
        open_sealed(bytes(changed), parse_private(private))
    with pytest.raises(UsageError, match="changed or cut short"):
        open_sealed(sealed.data[:-10], parse_private(private))
    with pytest.raises(UsageError, match="not a sealed"):
        open_sealed(inner, parse_private(private))
    with pytest.raises(UsageError, match="X25519"):
        parse_recipient("x25519:1234")
