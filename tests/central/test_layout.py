"""The unit never imports the central side: device/central is a room of its own."""

from __future__ import annotations

import ast
import subprocess
import sys

from tests.conftest import REPO


def _imports(path) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text("utf-8"))):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
    return found


def test_no_unit_module_imports_device_central():
    offenders = []
    for root in ("device", "web", "firmware_hooks"):
        for path in (REPO / root).rglob("*.py"):
            # The central side: its data room, and the console's screens (a second app factory).
            if path.is_relative_to(REPO / "device" / "central") or path.is_relative_to(REPO / "web" / "console"):
                continue
            if any(name == "device.central" or name.startswith("device.central.") for name in _imports(path)):
                offenders.append(str(path.relative_to(REPO)))
    assert offenders == [], f"unit code imports device.central: {offenders}"


def test_the_units_services_load_without_device_central():
    """What a unit runs (the CLI's unit commands, sync, the web app) never pulls the central package in."""
    code = (
        "import sys, device.sync.publisher, device.sync.service, device.sync.recovery, device.backup, "
        "device.commands.audit, device.commands.sync, web, web.server; "
        "print(sorted(m for m in sys.modules if m.startswith('device.central')))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, check=True)
    assert out.stdout.strip() == "[]", out.stdout + out.stderr


def test_the_layout_is_said_in_the_readme():
    readme = (REPO / "README.md").read_text("utf-8")
    assert "device/central/" in readme and "never imports it" in readme
