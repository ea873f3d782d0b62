"""Transport: MQTT delivery of bundles and erasure orders (see publish_mqtt)."""

from __future__ import annotations

from device.errors import UsageError


def publish_mqtt(ctx, store, agency, gallery, unit, base, models, actor) -> int:
    raise UsageError("MQTT delivery is not built yet: write the bundle to a file with -o FILE")


def send_order(ctx, envelope) -> None:
    raise UsageError("MQTT delivery is not built yet: write the order to a file with -o FILE")
