"""Device -> real mosquitto (TLS, client certs, ACLs) -> receiver, with faults in the middle."""

from __future__ import annotations

import threading

from tests.sync.broker import CuttingProxy
from tests.sync.conftest import assert_delivered, central_rows, fill, make_config, wait_for


def test_delivers_everything_once_with_end_to_end_acks(tmp_path, pki, broker, audit, registry, services):
    cfg = make_config(pki, broker.port, tmp_path=tmp_path)
    fill(audit, 250)
    services("receiver", cfg)
    pub = services("publisher", audit, cfg.sync)
    wait_for(lambda: audit.acked("central")[0] == 250, 30, "all 250 entries acked")
    pub.stop()
    assert_delivered(tmp_path, audit)
    assert central_rows(tmp_path)[2] == []


def test_broker_killed_and_restarted_mid_stream(tmp_path, pki, broker, audit, registry, services):
    cfg = make_config(pki, broker.port, tmp_path=tmp_path)
    services("receiver", cfg)
    services("publisher", audit, cfg.sync)
    writer = threading.Thread(target=fill, args=(audit, 600))
    writer.start()
    wait_for(lambda: audit.acked("central")[0] >= 100, 30, "first acks")
    broker.kill()
    writer.join(60)
    broker.start()
    wait_for(lambda: audit.acked("central")[0] == 600, 60, "all 600 entries acked after the restart")
    assert_delivered(tmp_path, audit)


def test_connection_cut_in_the_middle_by_a_proxy(tmp_path, pki, broker, audit, registry, services):
    proxy = CuttingProxy(broker.port)
    try:
        cfg = make_config(pki, proxy.port, tmp_path=tmp_path)
        receiver_cfg = make_config(pki, broker.port, tmp_path=tmp_path)
        services("receiver", receiver_cfg)
        services("publisher", audit, cfg.sync)
        writer = threading.Thread(target=fill, args=(audit, 600))
        writer.start()
        for target in (100, 300):
            wait_for(lambda t=target: audit.acked("central")[0] >= t, 30, f"{target} acked before a cut")
            proxy.cut()
        writer.join(60)
        wait_for(lambda: audit.acked("central")[0] == 600, 60, "all 600 acked after two cuts")
        assert proxy.cuts == 2
        assert_delivered(tmp_path, audit)
    finally:
        proxy.close()
