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
