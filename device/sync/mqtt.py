"""A paho-mqtt client set up the one way we use it: MQTT v5, TLS with a client certificate,
a persistent session, automatic reconnects with exponential back-off.

paho's defaults are wrong for store-and-forward (see shared notes): the session is discarded on
first connect unless ``clean_start=False`` *and* a SessionExpiryInterval are given explicitly.
"""

from __future__ import annotations

import ssl

import paho.mqtt.client as mqtt
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from device.config import MqttBrokerConfig
from device.errors import ConfigError


def tls_context(cfg: MqttBrokerConfig) -> ssl.SSLContext:
    """Verify the broker against our CA and present our certificate; nothing else is accepted."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    try:
        ctx.load_verify_locations(cafile=str(cfg.ca_file))
        ctx.load_cert_chain(certfile=str(cfg.cert_file), keyfile=str(cfg.key_file))
    except (OSError, ssl.SSLError) as exc:
        raise ConfigError(f"MQTT TLS files ({cfg.ca_file}, {cfg.cert_file}, {cfg.key_file}): {exc}") from None
    return ctx


def make_client(client_id: str, cfg: MqttBrokerConfig, will: tuple[str, bytes] | None = None) -> mqtt.Client:
    client = mqtt.Client(
        callback_api_version=mqtt.CallbackAPIVersion.VERSION2,
        client_id=client_id,
        protocol=mqtt.MQTTv5,
    )
    client.tls_set_context(tls_context(cfg))
    client.reconnect_delay_set(min_delay=max(1, round(cfg.reconnect_min_s)), max_delay=round(cfg.reconnect_max_s))
    # Bounded so a long outage cannot fill memory: the store is the real outbox.
    client.max_queued_messages_set(256)
    if will is not None:
        client.will_set(will[0], will[1], qos=1, retain=True)
    return client


def connect_async(client: mqtt.Client, cfg: MqttBrokerConfig, persistent: bool = True) -> None:
    """``persistent=False``: no session survives us (a member of a receivers' share group, whose
    subscription must vanish with it so the broker stops handing it batches)."""
    props = Properties(PacketTypes.CONNECT)
    props.SessionExpiryInterval = cfg.session_expiry_s if persistent else 0
    client.connect_async(cfg.host, cfg.port, keepalive=cfg.keepalive_s, clean_start=not persistent, properties=props)
