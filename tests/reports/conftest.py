"""The gallery's real fixtures (store, models), for the test that runs real recorders against the report."""

from tests.gallery.conftest import gallery  # noqa: F401
