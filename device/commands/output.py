"""Printing results: human lines or one JSON document, chosen by ``--json``."""

from __future__ import annotations

import json
import sys


def emit(data: dict, as_json: bool, lines: list[str]) -> None:
    if as_json:
        json.dump(data, sys.stdout, indent=2, sort_keys=True, default=str)
        sys.stdout.write("\n")
    else:
        sys.stdout.write("\n".join(lines) + "\n")
