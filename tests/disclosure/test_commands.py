"""``fieldface package`` and ``fieldface package verify`` on the demo unit's example case, as a user runs them."""

from __future__ import annotations

import io
import json
import zipfile

import pytest
from pypdf import PdfReader

from device.demo import EXAMPLE_CASE, ensure_demo


@pytest.fixture
def demo(tmp_path, fast_config):
    ensure_demo(tmp_path / "demo", fast_config)
    return tmp_path / "demo"


def test_package_a_case_then_verify_it_with_only_the_public_key(demo, run_cli, tmp_path):
    env = {"FIELDFACE_KEY_FILE": str(demo / "key")}
    unit = ["--data-dir", str(demo / "data")]
    out = tmp_path / "case.zip"
    made = run_cli(*unit, "package", EXAMPLE_CASE, "-o", str(out), "--json", env=env)
    assert made.returncode == 0, made.stderr
    assert json.loads(made.stdout)["redacted"] is True and oct(out.stat().st_mode & 0o777) == "0o600"
    pub = run_cli(*unit, "audit", "pubkey", env=env)
    (tmp_path / "unit.pub").write_text(pub.stdout)
    # verify needs neither the data dir nor the key: only the package and the public key
    ok = run_cli("--data-dir", str(tmp_path / "nowhere"), "package", "verify", str(out), "--public-key",
                 "@" + str(tmp_path / "unit.pub"))  # fmt: skip
    assert ok.returncode == 0, ok.stderr
    assert "EXAMPLE" in ok.stdout and "ok: every file matches" in ok.stdout
    # the example case is marked as one in the package, its PDF and the case list
    with zipfile.ZipFile(out) as archive:
        assert json.loads(archive.read("manifest.json"))["example"] is True
        pages = PdfReader(io.BytesIO(archive.read("report.pdf"))).pages
        assert all("EXAMPLE" in page.extract_text() for page in pages)
        files = {n: archive.read(n) for n in archive.namelist()}
    listed = run_cli(*unit, "cases", "list", env=env)
    assert EXAMPLE_CASE in listed.stdout and "EXAMPLE" in listed.stdout
    # one altered byte: named, exit 6, one line
    pdf = bytearray(files["report.pdf"])
    pdf[len(pdf) // 2] ^= 0x01
    bad = tmp_path / "bad.zip"
    with zipfile.ZipFile(bad, "w") as archive:
        for name, data in (files | {"report.pdf": bytes(pdf)}).items():
            archive.writestr(name, data)
    failed = run_cli("package", "verify", str(bad), "--public-key", "@" + str(tmp_path / "unit.pub"))
    assert failed.returncode == 6 and "altered: report.pdf" in failed.stdout
    assert failed.stderr.count("\n") == 1 and "FAILED verification" in failed.stderr


def test_bad_usage_is_one_line_and_exit_2(demo, run_cli, tmp_path):
    env = {"FIELDFACE_KEY_FILE": str(demo / "key")}
    unit = ["--data-dir", str(demo / "data")]
    for args, words in (
        (["package", EXAMPLE_CASE], "needs -o FILE"),
        (["package", "verify"], "needs the package FILE"),
        (["package", "verify", str(tmp_path / "x.zip"), "--public-key", "ab" * 32], "no package at"),
        (["package", "NO-SUCH-CASE", "-o", str(tmp_path / "p.zip")], "no case"),
        (["package", EXAMPLE_CASE, "--exam", "0", "-o", str(tmp_path / "p.zip")], "--exam"),
    ):
        result = run_cli(*unit, *args, env=env)
        assert result.returncode == 2 and words in result.stderr, (args, result.stderr)
        assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr
    (tmp_path / "x.zip").write_bytes(b"junk")
    result = run_cli("package", "verify", str(tmp_path / "x.zip"), "--public-key", "ab" * 32)
    assert result.returncode == 6 and "unreadable" in result.stdout


def test_seal_to_a_recipient_then_open_and_verify(demo, run_cli, tmp_path):
    env = {"FIELDFACE_KEY_FILE": str(demo / "key")}
    unit = ["--data-dir", str(demo / "data")]
    made_key = run_cli("package", "keygen", "-o", str(tmp_path / "court.key"))
    assert made_key.returncode == 0 and made_key.stdout.startswith("x25519:"), made_key.stderr
    assert oct((tmp_path / "court.key").stat().st_mode & 0o777) == "0o600"
    assert run_cli("package", "keygen", "-o", str(tmp_path / "court.key")).returncode == 2  # never overwritten
    (tmp_path / "court.pub").write_text(made_key.stdout)
    sealed = tmp_path / "case.zip.sealed"
    made = run_cli(*unit, "package", EXAMPLE_CASE, "--recipient", "@" + str(tmp_path / "court.pub"), "-o", str(sealed),
                   env=env)  # fmt: skip
    assert made.returncode == 0 and "sealed to" in made.stdout, made.stderr
    opened = run_cli("package", "open", str(sealed), "--key", "@" + str(tmp_path / "court.key"), "-o",
                     str(tmp_path / "case.zip"))  # fmt: skip
    assert opened.returncode == 0, opened.stderr
    pub = run_cli(*unit, "audit", "pubkey", env=env).stdout.split()[-1]
    assert run_cli("package", "verify", str(tmp_path / "case.zip"), "--public-key", pub).returncode == 0
    wrong = run_cli("package", "open", str(sealed), "--key", "x25519-private:" + "11" * 32, "-o", str(tmp_path / "x"))
    assert wrong.returncode == 2 and "another recipient" in wrong.stderr and not (tmp_path / "x").exists()
