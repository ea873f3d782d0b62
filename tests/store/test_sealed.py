import pytest

from device.store.sealed import SealError, read_sealed, seal, unseal, write_sealed

KEY = bytes(range(32))


def test_round_trip_and_no_plaintext(tmp_path):
    write_sealed(tmp_path / "f", KEY, b"secret index bytes", aad=b"gallery=3|model=sface")
    assert b"secret index bytes" not in (tmp_path / "f").read_bytes()
    assert read_sealed(tmp_path / "f", KEY, aad=b"gallery=3|model=sface") == b"secret index bytes"


@pytest.mark.parametrize(
    "damage",
    [
        lambda b: b[:-1],
        lambda b: b[:20] + bytes([b[20] ^ 1]) + b[21:],
        lambda b: b"NOTSEAL\0" + b[8:],
        lambda b: b"",
    ],
)
def test_damage_is_detected(damage):
    with pytest.raises(SealError):
        unseal(KEY, damage(seal(KEY, b"data", b"aad")), b"aad")


def test_other_key_or_other_aad_fails():
    sealed = seal(KEY, b"data", b"version=1")
    with pytest.raises(SealError):
        unseal(bytes(32), sealed, b"version=1")
    with pytest.raises(SealError, match="authentication failed"):
        unseal(KEY, sealed, b"version=2")
