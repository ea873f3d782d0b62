"""Fuzzing budget: fixed, derandomised (the same examples every run), no example database."""

from __future__ import annotations

from hypothesis import HealthCheck, settings

BUDGET = settings(
    max_examples=12,  # per route/method (web) or per command (CLI)
    deadline=None,
    derandomize=True,
    database=None,
    # One app and one logged-in client per test, shared by the examples on purpose.
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.data_too_large],
)


def pytest_terminal_summary(terminalreporter):
    """The fuzz counts (quoted in the closing note): requests/invocations and their outcomes."""
    from tests.fuzz import test_cli_fuzz, test_web_fuzz

    for name, seen in (("web requests", test_web_fuzz.SEEN), ("CLI invocations", test_cli_fuzz.SEEN)):
        if seen:
            targets = len({key[:-1] for key in seen})
            terminalreporter.write_line(f"fuzz: {sum(seen.values())} {name} over {targets} routes/commands")


from tests.web.conftest import app, config, users  # noqa: E402, F401 - the web suite's fixtures
