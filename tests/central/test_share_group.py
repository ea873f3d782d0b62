"""Two receivers in one share group (real mosquitto from the documented config, `fieldface audit
receive` processes): one killed with SIGKILL stops being handed batches at once."""

from __future__ import annotations

import signal
import time

from tests.sync.conftest import DEVICE, assert_delivered, central_env, central_store, fill, make_config, wait_for
from tests.sync.test_faults import cli, write_toml

SHARED = {"share_group": "receivers"}


def _gaps(tmp_path) -> int:
    store = central_store(tmp_path)
    try:
        return store.gaps(DEVICE)
    finally:
        store.close()


def test_a_killed_member_of_the_share_group_gets_nothing_more(tmp_path, pki, broker, audit, registry, services):
    configs = []
    for n, name in enumerate(("central-receiver-1", "central-receiver-2")):
        cfg = make_config(pki, broker.port, tmp_path=tmp_path, receiver=name, receiver_extra=SHARED)
        write_toml(tmp_path / f"rx{n}.toml", cfg)
        configs.append(cfg)
    receivers = [cli(tmp_path / f"rx{n}.toml", "audit", "receive", env=central_env(tmp_path)) for n in range(2)]
    try:
        time.sleep(2)  # both subscribed: no readiness signal crosses a process boundary
        services("publisher", audit, configs[0].sync)
        fill(audit, 400)
        wait_for(lambda: audit.acked("central")[0] == 400, 60, "400 entries through both receivers")
        receivers[1].send_signal(signal.SIGKILL)
        receivers[1].communicate(timeout=10)
        gaps = _gaps(tmp_path)
        fill(audit, 600, start=400)
        wait_for(lambda: audit.acked("central")[0] == 1000, 60, "600 more through the survivor")
        # With a persistent session the broker would have queued every other batch for the dead
        # member: the survivor would have seen the next one start after its head (a gap) each time.
        assert _gaps(tmp_path) == gaps
    finally:
        for proc in receivers:
            if proc.poll() is None:
                proc.terminate()
                proc.communicate(timeout=20)
    assert_delivered(tmp_path, audit)


def test_sharded_receivers_each_take_only_their_units(tmp_path, pki, broker, audit, registry, services):
    """receiver.shard K/N: the receiver whose share the unit is stores and acks it; the other,
    subscribed to the same topics with the unit registered in its own store, leaves it alone."""
    from device.central.mqtt import shard_of
    from tests.sync.conftest import register

    mine = shard_of(DEVICE, 2)
    other_dir = tmp_path / "other"
    other_dir.mkdir()
    other_store = central_store(other_dir)
    register(other_store, audit)
    other_store.close()
    procs = []
    for n, (name, k, where) in enumerate(
        (("central-receiver-1", mine, tmp_path), ("central-receiver-2", 1 - mine, other_dir))
    ):
        cfg = make_config(pki, broker.port, tmp_path=where, receiver=name, receiver_extra={"shard": f"{k}/2"})
        write_toml(tmp_path / f"rx{n}.toml", cfg)
        procs.append(cli(tmp_path / f"rx{n}.toml", "audit", "receive", env=central_env(tmp_path)))
    try:
        time.sleep(2)  # both subscribed
        services("publisher", audit, make_config(pki, broker.port, tmp_path=tmp_path).sync)
        fill(audit, 300)
        wait_for(lambda: audit.acked("central")[0] == 300, 60, "300 entries through the unit's receiver")
        time.sleep(1)  # the other had the same messages from the broker as long
    finally:
        for proc in procs:
            proc.terminate()
            proc.communicate(timeout=20)
    assert_delivered(tmp_path, audit)
    other = central_store(other_dir)
    try:
        assert other.entries(DEVICE) == [] and other.rejects() == []
    finally:
        other.close()
