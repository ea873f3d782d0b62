import json

import pytest

from device.config import KeysConfig
from device.errors import LockedError, StoreError, UsageError, WrongKeyError
from device.keys import (
    KEYSLOTS_FILE,
    KeyRing,
    MasterSecret,
    Purpose,
    create_slots,
    new_passphrase,
    obtain_secret,
    read_new_key_file,
    rekey,
    unlock,
)

FAST = KeysConfig(argon2_memory_kib=64, argon2_iterations=1, argon2_lanes=1)


def test_credential_beats_key_file_beats_prompt(tmp_path):
    creds = tmp_path / "creds"
    creds.mkdir()
    (creds / "fieldface-key").write_bytes(b"from-credential\n")
    keyfile = tmp_path / "k"
    keyfile.write_bytes(b"from-key-file\n")

    def no_prompt(_):
        raise AssertionError("must not prompt")

    env = {"CREDENTIALS_DIRECTORY": str(creds), "FIELDFACE_KEY_FILE": str(keyfile)}
    got = obtain_secret(FAST, env, prompt=no_prompt, interactive=True)
    assert (got.value, got.source) == (b"from-credential", "credential")

    del env["CREDENTIALS_DIRECTORY"]
    got = obtain_secret(FAST, env, prompt=no_prompt, interactive=True)
    assert (got.value, got.source) == (b"from-key-file", "key file")

    got = obtain_secret(FAST, {}, prompt=lambda _: "typed words", interactive=True)
    assert (got.value, got.source) == (b"typed words", "passphrase")


def test_credentials_dir_without_our_credential_falls_through(tmp_path):
    keyfile = tmp_path / "k"
    keyfile.write_bytes(b"kf")
    env = {"CREDENTIALS_DIRECTORY": str(tmp_path), "FIELDFACE_KEY_FILE": str(keyfile)}
    assert obtain_secret(FAST, env, interactive=False).source == "key file"


def test_no_source_and_no_terminal_is_locked():
    with pytest.raises(LockedError, match="no key"):
        obtain_secret(FAST, {}, interactive=False)


@pytest.mark.parametrize(("content", "message"), [(b"", "is empty"), (b"\n", "is empty"), (b"x" * 5000, "larger")])
def test_bad_key_files_are_refused(tmp_path, content, message):
    path = tmp_path / "k"
    path.write_bytes(content)
    with pytest.raises(LockedError, match=message):
        obtain_secret(FAST, {"FIELDFACE_KEY_FILE": str(path)}, interactive=False)


def test_missing_key_file_is_named(tmp_path):
    with pytest.raises(LockedError, match=r"key file .*nope: no such file"):
        obtain_secret(FAST, {"FIELDFACE_KEY_FILE": str(tmp_path / "nope")}, interactive=False)


def test_wrong_secret_is_refused_and_right_one_unlocks(tmp_path):
    ring = create_slots(tmp_path, MasterSecret(b"right secret", "key file"), FAST)
    with pytest.raises(WrongKeyError, match="does not unlock"):
        unlock(tmp_path, MasterSecret(b"wrong secret", "key file"))
    again, slot = unlock(tmp_path, MasterSecret(b"right secret", "key file"))
    assert slot == 0
    assert again.subkey(Purpose.DATABASE) == ring.subkey(Purpose.DATABASE)


def test_subkeys_differ_per_purpose_and_are_32_bytes():
    ring = KeyRing(bytes(range(32)))
    keys = {p: ring.subkey(p) for p in Purpose}
    assert len(set(keys.values())) == len(Purpose)
    assert all(len(k) == 32 for k in keys.values())
    assert KeyRing(bytes(range(32))).subkey(Purpose.BLOBS) == keys[Purpose.BLOBS]


def test_wiped_keyring_refuses_to_derive():
    ring = KeyRing(bytes(range(1, 33)))
    ring.wipe()
    assert ring.wiped
    with pytest.raises(LockedError, match="locked"):
        ring.subkey(Purpose.DATABASE)


def test_secrets_never_show_in_repr():
    assert "hunter2" not in repr(MasterSecret(b"hunter2", "passphrase"))
    assert "hunter2" not in repr(KeyRing(b"hunter2".ljust(32, b"x")))


def test_slot_file_holds_no_secret_and_its_cost_cannot_be_lowered(tmp_path):
    create_slots(tmp_path, MasterSecret(b"the secret words", "key file"), FAST)
    text = (tmp_path / KEYSLOTS_FILE).read_text()
    assert "the secret words" not in text
    doc = json.loads(text)
    doc["slots"][0]["t"] = 2  # an attacker lowering (or changing) the stored cost
    (tmp_path / KEYSLOTS_FILE).write_text(json.dumps(doc))
    with pytest.raises(WrongKeyError):
        unlock(tmp_path, MasterSecret(b"the secret words", "key file"))


def test_damaged_slot_file_is_a_store_error(tmp_path):
    (tmp_path / KEYSLOTS_FILE).write_text("{not json")
    with pytest.raises(StoreError, match="damaged"):
        unlock(tmp_path, MasterSecret(b"x", "key file"))


def test_rekey_keeps_root_key_and_retires_old_secret(tmp_path):
    old, new = MasterSecret(b"old secret", "key file"), MasterSecret(b"new secret!", "key file")
    ring = create_slots(tmp_path, old, FAST)
    rekey(tmp_path, old, new, FAST)
    with pytest.raises(WrongKeyError):
        unlock(tmp_path, old)
    ring2, _ = unlock(tmp_path, new)
    assert ring2.subkey(Purpose.DATABASE) == ring.subkey(Purpose.DATABASE)
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")], "no temp file left behind"


def test_rekey_with_wrong_current_secret_changes_nothing(tmp_path):
    create_slots(tmp_path, MasterSecret(b"old secret", "key file"), FAST)
    before = (tmp_path / KEYSLOTS_FILE).read_bytes()
    with pytest.raises(WrongKeyError):
        rekey(tmp_path, MasterSecret(b"guess", "key file"), MasterSecret(b"new secret", "key file"), FAST)
    assert (tmp_path / KEYSLOTS_FILE).read_bytes() == before


def test_rekey_to_the_same_secret_is_refused(tmp_path):
    s = MasterSecret(b"same secret", "key file")
    create_slots(tmp_path, s, FAST)
    with pytest.raises(UsageError, match="same"):
        rekey(tmp_path, s, s, FAST)


def test_new_passphrase_is_asked_twice_and_checked():
    answers = iter(["long enough words", "long enough words"])
    assert new_passphrase(FAST, prompt=lambda _: next(answers)).value == b"long enough words"
    with pytest.raises(UsageError, match="at least 12"):
        new_passphrase(FAST, prompt=lambda _: "short")
    answers = iter(["long enough words", "other long words"])
    with pytest.raises(UsageError, match="differ"):
        new_passphrase(FAST, prompt=lambda _: next(answers))


def test_new_key_file_must_be_strong_enough(tmp_path):
    path = tmp_path / "weak"
    path.write_bytes(b"short")
    with pytest.raises(UsageError, match="fewer than 16"):
        read_new_key_file(path)
