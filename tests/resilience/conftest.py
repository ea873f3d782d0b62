"""The sync tests' real mosquitto, PKI and receiver fixtures, for the kill -9 tests here."""

from tests.sync.conftest import broker, pki, registry, services  # noqa: F401
