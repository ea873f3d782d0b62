"""The ``fieldface`` command as a user meets it: a real process, real files, exit codes, one-line errors."""

import json
import os

import pytest

from tests.processes import clean_env, run_in_terminal


def one_line_error(result, code):
    assert result.returncode == code, result
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("fieldface: "), result.stderr
    assert "Traceback" not in result.stderr + result.stdout
    return lines[0]


@pytest.fixture
def initialised(tmp_path, key_file, run_cli):
    data = tmp_path / "data"
    result = run_cli("--data-dir", str(data), "init", env={"FIELDFACE_KEY_FILE": str(key_file)})
    assert result.returncode == 0, result.stderr
    assert "created encrypted data dir" in result.stdout
    return data


def test_init_then_status(initialised, key_file, run_cli):
    result = run_cli("--data-dir", str(initialised), "status", "--json", env={"FIELDFACE_KEY_FILE": str(key_file)})
    assert result.returncode == 0, result.stderr
    status = json.loads(result.stdout)
    assert status["schema"]["version"] == status["schema"]["latest"] >= 1
    assert status["key_source"] == "key file"
    assert status["counts"]["meta"] >= 3
    assert status["device_id"].startswith("ff-")


def test_data_dir_from_environment(initialised, key_file, run_cli):
    env = {"FIELDFACE_KEY_FILE": str(key_file), "FIELDFACE_DATA_DIR": str(initialised)}
    result = run_cli("status", env=env)
    assert result.returncode == 0 and str(initialised) in result.stdout


def test_init_refuses_to_overwrite(initialised, key_file, run_cli):
    result = run_cli("--data-dir", str(initialised), "init", env={"FIELDFACE_KEY_FILE": str(key_file)})
    assert "already exists" in one_line_error(result, 4)


def test_wrong_key_file_exits_3_with_one_line(initialised, tmp_path, run_cli):
    wrong = tmp_path / "wrong.key"
    wrong.write_text("0" * 64)
    result = run_cli("--data-dir", str(initialised), "status", env={"FIELDFACE_KEY_FILE": str(wrong)})
    assert "does not unlock" in one_line_error(result, 3)


def test_no_key_and_no_terminal_exits_3(initialised, run_cli):
    result = run_cli("--data-dir", str(initialised), "status")
    assert "no key" in one_line_error(result, 3)


def test_systemd_credential_unlocks(initialised, key_file, tmp_path, run_cli):
    creds = tmp_path / "creds"
    creds.mkdir()
    (creds / "fieldface-key").write_bytes(key_file.read_bytes())
    result = run_cli("--data-dir", str(initialised), "status", "--json", env={"CREDENTIALS_DIRECTORY": str(creds)})
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["key_source"] == "credential"


def test_rekey_with_new_key_file(initialised, key_file, tmp_path, run_cli):
    new = tmp_path / "new.key"
    new.write_text(os.urandom(32).hex())
    env = {"FIELDFACE_KEY_FILE": str(key_file)}
    result = run_cli("--data-dir", str(initialised), "rekey", "--new-key-file", str(new), env=env)
    assert result.returncode == 0, result.stderr
    assert "no longer unlocks" in result.stdout
    assert "does not unlock" in one_line_error(run_cli("--data-dir", str(initialised), "status", env=env), 3)
    ok = run_cli("--data-dir", str(initialised), "status", "--json", env={"FIELDFACE_KEY_FILE": str(new)})
    assert ok.returncode == 0 and json.loads(ok.stdout)["counts"]["meta"] >= 3


def test_bad_config_stops_start_up_naming_file_key_and_reason(tmp_path, run_cli):
    bad = tmp_path / "bad.toml"
    bad.write_text("[web]\nthreads = -1\n")
    result = run_cli("--config", str(bad), "status")
    line = one_line_error(result, 2)
    assert str(bad) in line and "web.threads" in line and "greater than or equal to 1" in line


def test_bad_usage_exits_2_with_one_line(run_cli):
    assert "invalid choice" in one_line_error(run_cli("frobnicate"), 2)
    assert "unrecognized arguments" in one_line_error(run_cli("status", "--nope"), 2)
    assert "required" in one_line_error(run_cli(), 2)


def test_unreadable_data_dir_is_exit_4(tmp_path, key_file, run_cli):
    result = run_cli("--data-dir", str(tmp_path / "missing"), "status", env={"FIELDFACE_KEY_FILE": str(key_file)})
    assert "does not exist" in one_line_error(result, 4)


def test_passphrase_typed_at_the_terminal(tmp_path, fast_config_file):
    env = clean_env(FIELDFACE_CONFIG=str(fast_config_file))
    data = str(tmp_path / "data")
    code, out = run_in_terminal(["--data-dir", data, "init"], ["a long passphrase", "a long passphrase"], env)
    assert code == 0, out
    assert "a long passphrase" not in out, "the passphrase must not be echoed"
    code, out = run_in_terminal(["--data-dir", data, "status"], ["a long passphrase"], env)
    assert code == 0 and "unlocked with passphrase" in out, out
    code, out = run_in_terminal(
        ["--data-dir", data, "rekey"], ["a long passphrase", "another passphrase", "another passphrase"], env
    )
    assert code == 0 and "no longer unlocks" in out, out
    code, out = run_in_terminal(["--data-dir", data, "status"], ["a long passphrase"], env)
    assert code == 3 and "does not unlock" in out, out
    code, out = run_in_terminal(["--data-dir", data, "status"], ["another passphrase"], env)
    assert code == 0, out
