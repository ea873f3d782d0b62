"""scripts/provision-central into a temp root; then a broker run from what it wrote accepts its
receivers and a unit whose request it signed, and refuses a request whose CN is not the card's."""

from __future__ import annotations

import subprocess
import sys
import threading
import tomllib

from cryptography import x509
from cryptography.x509.oid import NameOID

from device.audit.card import make_card
from device.config import validate_config
from device.sync.mqtt import connect_async, make_client
from tests.conftest import REPO
from tests.processes import clean_env
from tests.sync.broker import MOSQUITTO, free_port, wait_for_port


def _run(*args):
    return subprocess.run(
        [sys.executable, str(REPO / "scripts/provision-central"), *map(str, args)],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )


def _csr(tmp_path, cn: str):
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    key = ec.generate_private_key(ec.SECP256R1())
    csr = (
        x509.CertificateSigningRequestBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)]))
        .sign(key, hashes.SHA256())
    )
    (tmp_path / f"{cn}.key").write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    (tmp_path / f"{cn}.csr").write_bytes(csr.public_bytes(serialization.Encoding.PEM))
    return tmp_path / f"{cn}.csr", tmp_path / f"{cn}.key"


def _connects(cfg) -> bool:
    client = make_client(f"probe-{cfg.cert_file.stem}", cfg)
    done, ok = threading.Event(), []
    client.on_connect = lambda c, u, f, rc, p: (ok.append(not rc.is_failure), done.set())
    client.on_connect_fail = lambda c, u: done.set()
    connect_async(client, cfg, persistent=False)
    client.loop_start()
    done.wait(10)
    client.disconnect()
    client.loop_stop()
    return ok == [True]


def test_provision_central_then_a_broker_from_its_files(tmp_path, audit):
    root = tmp_path / "root"
    passphrase = tmp_path / "pass"
    passphrase.write_text("operators passphrase 1\n")
    args = ("--root", root, "--seal-with", "tpm2-absent", "--passphrase-file", passphrase)
    made = _run(*args, "--broker-host", "127.0.0.1", "--receiver", "rx-a", "--receiver", "rx-b")
    assert made.returncode == 0, made.stderr
    central, mosq = root / "etc/fieldface-central", root / "etc/mosquitto/fieldface"
    assert (central / "ca/ca.key").stat().st_mode & 0o777 == 0o600
    assert (root / "etc/mosquitto/conf.d/fieldface.conf").read_text() == (
        REPO / "docs/broker/mosquitto.conf"
    ).read_text()
    acl = (mosq / "acl").read_text()
    assert "user rx-a\n" in acl and "user rx-b\n" in acl and "central-receiver" not in acl
    assert "pattern read fieldface/audit/%u/recovery" in acl
    for name in ("rx-a", "rx-b"):
        cfg = validate_config(tomllib.loads((central / f"{name}.toml").read_text()))
        assert (cfg.receiver.client_id, cfg.receiver.share_group) == (name, "receivers")
        assert cfg.receiver.broker.cert_file == __import__("pathlib").Path(f"/etc/fieldface-central/{name}.pem")
        cert = x509.load_pem_x509_certificate((central / f"{name}.pem").read_bytes())
        assert cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == name
    assert (root / "etc/systemd/system/fieldface-receiver.service").exists()
    assert "fieldface-central" in (root / "etc/passwd").read_text()
    # The store is made, encrypted, and opens with the operators' passphrase (or the sealed key).
    store = root / "var/lib/fieldface-central"
    assert (store / "central.db").exists() and b"units" not in (store / "central.db").read_bytes()
    assert (root / "etc/credstore.encrypted/fieldface-central-key").exists()
    env = {**clean_env(), "FIELDFACE_KEY_FILE": str(passphrase)}
    listed = subprocess.run([sys.executable, "-m", "device.cli", "central", "--store", str(store), "units"],
                            capture_output=True, text=True, env=env, check=False, timeout=60)  # fmt: skip
    assert listed.returncode == 0, listed.stderr
    again = _run(*args, "--broker-host", "127.0.0.1")
    assert again.returncode == 4 and "nothing was changed" in again.stderr

    # A unit: its card and a request with its id as CN are signed; another CN is refused.
    card = tmp_path / "card.json"
    card.write_text(__import__("json").dumps(make_card(audit, "Unit 7")))
    csr, key = _csr(tmp_path, audit.device_id)
    signed = _run("--root", root, "sign-unit", csr, "--card", card, "-o", tmp_path / "unit.pem")
    assert signed.returncode == 0, signed.stderr
    wrong, _ = _csr(tmp_path, "someone-else")
    refused = _run("--root", root, "sign-unit", wrong, "--card", card, "-o", tmp_path / "x.pem")
    assert refused.returncode == 2 and "is not the card's unit id" in refused.stderr
    assert not (tmp_path / "x.pem").exists()

    # The broker, run from the provisioned files (paths under the temp root, a free port).
    port = free_port()
    conf = (root / "etc/mosquitto/conf.d/fieldface.conf").read_text()
    for path in ("/etc/mosquitto/fieldface/", "/var/lib/mosquitto/", "/var/log/mosquitto/"):
        (root / path.strip("/")).mkdir(parents=True, exist_ok=True)
        conf = conf.replace(path, f"{root}{path}")
    conf = conf.replace("listener 8883", f"listener {port} 127.0.0.1")
    user = "user root\n" if __import__("os").geteuid() == 0 else ""
    (tmp_path / "mosquitto.conf").write_text(user + conf)
    broker = subprocess.Popen([MOSQUITTO, "-c", str(tmp_path / "mosquitto.conf")], stderr=subprocess.DEVNULL)
    try:
        wait_for_port(port)
        base = {"host": "127.0.0.1", "port": port, "ca_file": str(central / "ca.pem"), "reconnect_max_s": 1}
        rx = validate_config(
            {
                "receiver": {
                    "broker": {**base, "cert_file": str(central / "rx-a.pem"), "key_file": str(central / "rx-a.key")}
                }
            }
        )
        unit = validate_config(
            {"sync": {"broker": {**base, "cert_file": str(tmp_path / "unit.pem"), "key_file": str(key)}}}
        )
        assert _connects(rx.receiver.broker) and _connects(unit.sync.broker)
    finally:
        broker.terminate()
        broker.wait(10)
