"""The ``fieldface`` command: parses arguments, calls services, prints. No domain logic here.

Each capability adds its subcommands in its own module (listed in ``COMMAND_MODULES``) through
``register(subparsers)``; a subcommand's handler takes ``(ctx, args)`` and returns an exit code.

Errors: one line on stderr and a non-zero exit code (see device.errors), never a traceback.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import os
import sys
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

from device import __version__
from device.config import Config, load_config, resolve_data_dir
from device.errors import FieldfaceError, UsageError

log = logging.getLogger("fieldface")

# The web UI registers ``serve`` here too, and the hooks service ``hooks``, and the central side
# ``central``: the CLI is a door like the web, so it may name them; the unit's packages under
# device/ never import web/, firmware_hooks/ or device/central/.
COMMAND_MODULES = (
    "device.commands.store",
    "device.commands.backup",
    "device.commands.vision",
    "device.commands.gallery",
    "device.commands.bundles",
    "device.commands.audit",
    "device.commands.disclosure",
    "device.commands.reports",
    "device.commands.sync",
    "device.commands.appliance",
    "device.commands.users",
    "device.central.commands",
    "firmware_hooks.commands",
    "web.commands",
)


@dataclass
class Context:
    """What every handler needs: the validated config and where the data dir is."""

    config: Config
    data_dir: Path
    env: dict = field(default_factory=lambda: dict(os.environ))

    @cached_property
    def store(self):
        """The unlocked store (asks for the key once per process)."""
        from device.keys import obtain_secret
        from device.store import open_store

        return open_store(self.data_dir, obtain_secret(self.config.keys, self.env), self.config)


class _Parser(argparse.ArgumentParser):
    """argparse that reports bad usage in one line with exit code 2."""

    def error(self, message: str):  # type: ignore[override]
        command = self.prog.removeprefix("fieldface").strip()
        raise UsageError(f"{command + ': ' if command else ''}{message} (see --help)")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="fieldface",
        description="Offline face search for field units: candidate lists for trained human review, "
        "never an identification. Every action is recorded in a tamper-evident audit log.",
    )
    parser.add_argument("--version", action="version", version=f"fieldface {__version__}")
    parser.add_argument(
        "--config", metavar="PATH", help="config file (default: $FIELDFACE_CONFIG or /etc/fieldface/config.toml)"
    )
    parser.add_argument("--data-dir", metavar="DIR", help="data dir (default: $FIELDFACE_DATA_DIR or store.data_dir)")
    parser.add_argument("-v", "--verbose", action="store_true", help="log progress to stderr")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    sub.required = True
    for name in COMMAND_MODULES:
        importlib.import_module(name).register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    os.umask(0o077)  # whatever fieldface writes is for the unit's own user only
    try:
        args = build_parser().parse_args(argv)
        logging.basicConfig(
            level=logging.INFO if args.verbose else logging.WARNING,
            format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        )
        config = load_config(args.config)
        ctx = Context(config=config, data_dir=resolve_data_dir(config, args.data_dir))
        return int(args.handler(ctx, args) or 0)
    except FieldfaceError as exc:
        print(f"fieldface: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("fieldface: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 141
    except Exception as exc:  # the last line of defence: a bug, reported in one line
        # The user gets one line; with -v the traceback is logged for the bug report.
        log.info("unexpected error", exc_info=True)
        print(f"fieldface: internal error: {type(exc).__name__}: {exc} (run with -v for details)", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
