"""Hypothesis over every ``fieldface`` subcommand and its arguments: one line and a known exit code,
never a traceback nor exit 1 (the "internal error" of device/cli.py).

Subcommands and their options are read from the real parser. Left out: those that serve, wait,
block on a terminal or a network, or destroy the data dir on purpose (listed in SKIP).
"""

from __future__ import annotations

import argparse
import collections

import pytest
from hypothesis import given
from hypothesis import strategies as st

from device.cli import build_parser, main
from tests.fuzz.conftest import BUDGET
from tests.hostile_images import png_141_bytes
from tests.vision.conftest import DATA

SKIP = {"serve", "demo", "sync", "hooks", "wait-unlocked", "receive", "wipe", "lock", "unlock", "rekey", "restore"}
SEEN: collections.Counter = collections.Counter()


def commands() -> list[tuple[tuple[str, ...], argparse.ArgumentParser]]:
    found = []

    def walk(parser, path):
        subs = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
        if not subs:
            found.append((path, parser))
        for action in subs:
            for name, child in action.choices.items():
                if name not in SKIP:
                    walk(child, (*path, name))

    walk(build_parser(), ())
    return found


COMMANDS = commands()


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    root = tmp_path_factory.mktemp("fuzz-files")
    (root / "hostile.png").write_bytes(png_141_bytes())
    (root / "rows.csv").write_text("image,subject,legal_basis\nnope.jpg,X,\n")
    (root / "empty").mkdir()
    # A copy: a fuzzed output option (``sync unit-card --output PATH``) may write over any path given.
    (root / "obama.jpg").write_bytes((DATA / "obama.jpg").read_bytes())
    return [str(root / "obama.jpg"), str(root / "hostile.png"), str(root / "rows.csv"), str(root / "empty"),
            str(root / "missing.jpg"), str(DATA)]  # fmt: skip


def argv_for(parser: argparse.ArgumentParser, paths: list[str]):
    options = [s for a in parser._actions for s in a.option_strings if s not in ("-h", "--help")]
    values = st.one_of(
        st.sampled_from(paths),
        st.sampled_from(
            [
                "0",
                "-1",
                "1e400",
                "nan",
                "9" * 30,
                "",
                "x" * 300,
                "2026-02-30",
                "../..",
                "=1+1",
                "\x7f",
                "C-1",
                "robbery",
                "supervisor",
                "search.top_k",
                "true",
                "{}",
                "[1]",
            ]
        ),
        st.text(alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), max_size=20),
    )
    token = st.one_of(st.sampled_from(options or ["--x"]), values) if options else values
    return st.lists(token, max_size=6)


@pytest.mark.parametrize("path", [p for p, _ in COMMANDS], ids=lambda p: " ".join(p))
def test_no_command_fails_unexpectedly(path, files, fast_config_file, key_file, tmp_path, capsys, monkeypatch):
    parser = dict(COMMANDS)[path]
    data_dir = tmp_path / "data"
    monkeypatch.setenv("FIELDFACE_KEY_FILE", str(key_file))
    assert main(["--config", str(fast_config_file), "--data-dir", str(data_dir), "init"]) == 0
    capsys.readouterr()
    monkeypatch.chdir(tmp_path)  # files a command writes land here

    @BUDGET
    @given(argv_for(parser, files))
    def one(args):
        argv = ["--config", str(fast_config_file), "--data-dir", str(data_dir), *path, *args]
        try:
            code = main(argv)
        except SystemExit as exit_:  # --help, --version
            code = exit_.code or 0
        out, err = capsys.readouterr()
        SEEN[(" ".join(path), code)] += 1
        assert code != 1, (argv, err)
        assert "Traceback" not in err and "Traceback" not in out, argv
        if code not in (0, 130):
            assert err.count("\n") == 1 and err.startswith("fieldface: "), (argv, err)

    one()
