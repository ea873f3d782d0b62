"""The one configuration tree: a TOML file validated by pydantic, unknown keys rejected.

Where the file comes from, first match wins: ``--config PATH``, ``$FIELDFACE_CONFIG``,
``/etc/fieldface/config.toml``. A missing *default* file means "all defaults"; a file that was
named explicitly must exist. Defaults suit a Raspberry Pi 4/5 (4 cores, 4-8 GiB).

Every section is a class here so that a newcomer sees the whole tree in one place; each later
capability adds its own section class and one field on ``Config``.
"""

from __future__ import annotations

import os
import tomllib
from pathlib import Path
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from device.errors import ConfigError

DEFAULT_CONFIG_PATH = Path("/etc/fieldface/config.toml")
DEFAULT_DATA_DIR = Path("/var/lib/fieldface")
ENV_CONFIG = "FIELDFACE_CONFIG"
ENV_DATA_DIR = "FIELDFACE_DATA_DIR"


class Section(BaseModel):
    """Base of every section: typos in key names are errors, not silently ignored settings."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class DeviceConfig(Section):
    # Empty: a random id is made by ``fieldface init`` and kept in the store.
    id: Annotated[str, Field(pattern=r"^[A-Za-z0-9._-]{0,64}$")] = ""
    name: Annotated[str, Field(max_length=120)] = "fieldface unit"


class StoreConfig(Section):
    data_dir: Path = DEFAULT_DATA_DIR
    # FULL: a committed action survives a power cut (WAL alone keeps the file consistent,
    # but NORMAL can lose the last commits, which would lose audit entries).
    synchronous: Literal["FULL", "NORMAL"] = "FULL"
    busy_timeout_ms: Annotated[int, Field(ge=100, le=120_000)] = 10_000


class KeysConfig(Section):
    # Name of the systemd credential ($CREDENTIALS_DIRECTORY/<name>), see systemd.exec(5).
    credential_name: Annotated[str, Field(pattern=r"^[A-Za-z0-9._-]{1,64}$")] = "fieldface-key"
    # Argon2id cost for *new* key slots (init, rekey); existing slots keep the cost they were
    # made with. 64 MiB / 3 passes is about 0.4 s on a Pi 4 and 0.15 s on x86: paid once per unlock.
    argon2_memory_kib: Annotated[int, Field(ge=8, le=4 * 1024 * 1024)] = 65_536
    argon2_iterations: Annotated[int, Field(ge=1, le=64)] = 3
    argon2_lanes: Annotated[int, Field(ge=1, le=16)] = 2
    min_passphrase_length: Annotated[int, Field(ge=8, le=1024)] = 12


class WebConfig(Section):
    bind: str = "127.0.0.1:8080"
    # One process holds camera and models (gthread); threads serve requests.
    threads: Annotated[int, Field(ge=1, le=32)] = 4
    timeout_s: Annotated[int, Field(ge=5, le=600)] = 60

    @field_validator("bind")
    @classmethod
    def _host_port(cls, value: str) -> str:
        parse_bind(value)
        return value


class VisionQualityConfig(Section):
    """Probe-quality thresholds as ``[warn, fail]`` pairs; device/vision/quality.py says what each
    measures and device/vision/calibration.md how the defaults were set."""

    # Lower is worse: a value below the first number warns, below the second fails.
    face_presence: tuple[float, float] = (0.7, 0.5)
    inter_eye_px: tuple[float, float] = (24.0, 14.0)
    sharpness: tuple[float, float] = (40.0, 12.0)
    brightness_low: tuple[float, float] = (60.0, 35.0)
    eyes_open: tuple[float, float] = (0.05, 0.025)
    # Higher is worse: a value above the first number warns, above the second fails (angles: magnitude).
    brightness_high: tuple[float, float] = (190.0, 220.0)
    clipped_fraction: tuple[float, float] = (0.10, 0.30)
    yaw_deg: tuple[float, float] = (35.0, 50.0)
    pitch_deg: tuple[float, float] = (25.0, 40.0)
    roll_deg: tuple[float, float] = (40.0, 55.0)

    @field_validator("face_presence", "inter_eye_px", "sharpness", "brightness_low", "eyes_open")
    @classmethod
    def _lower_is_worse(cls, value: tuple[float, float]) -> tuple[float, float]:
        if value[1] > value[0]:
            raise ValueError(f"[warn, fail]: fail {value[1]} must be at or below warn {value[0]}")
        return value

    @field_validator("brightness_high", "clipped_fraction", "yaw_deg", "pitch_deg", "roll_deg")
    @classmethod
    def _higher_is_worse(cls, value: tuple[float, float]) -> tuple[float, float]:
        if value[1] < value[0]:
            raise ValueError(f"[warn, fail]: fail {value[1]} must be at or above warn {value[0]}")
        return value


class VisionConfig(Section):
    """Recognition pipeline: model files, interpreter, input limits, quality thresholds."""

    interpreter: Literal["auto", "ai-edge-litert", "tflite-runtime"] = "auto"
    threads: Annotated[int, Field(ge=1, le=16)] = 2
    # Refuse an image above this many pixels *before* decoding it (decompression bombs).
    max_pixels: Annotated[int, Field(ge=10_000, le=400_000_000)] = 50_000_000
    # Images are decoded in this many child processes (device/vision/safe_decode.py), each given at
    # most decode_timeout_s per image before it is killed and the image refused.
    decode_workers: Annotated[int, Field(ge=1, le=8)] = 2
    decode_timeout_s: Annotated[float, Field(gt=0, le=300)] = 10.0
    # Model ids from the shipped manifest (device/vision/models/manifest.toml) or from an extra
    # manifest below: an agency drops in its own TFLite / Edge TPU model without code changes.
    detector: Annotated[str, Field(min_length=1)] = "blazeface-full-range-sparse"
    # Dense landmarks on each detected face: alignment points, head pose, eyes open.
    landmarks: Annotated[str, Field(min_length=1)] = "mediapipe-face-mesh"
    embedder: Annotated[str, Field(min_length=1)] = "sface-2021dec-fp16"
    manifests: list[Path] = []
    # Loaded only for a model whose manifest entry says delegate = "edgetpu".
    edgetpu_library: Annotated[str, Field(min_length=1)] = "libedgetpu.so.1"
    # MediaPipe's own values for BlazeFace full-range.
    min_detection_score: Annotated[float, Field(gt=0, lt=1)] = 0.6
    nms_iou: Annotated[float, Field(gt=0, lt=1)] = 0.3
    # Second detection pass for small faces (device/vision/detect.py): pictures whose long side is
    # above this many pixels are also searched in overlapping tiles; 0 switches the pass off.
    tile_above: Annotated[int, Field(ge=0, le=100_000)] = 1024
    # ...unless it is a portrait: a face found by the first pass spans at least this share of the
    # picture's long side (0: tile every large picture, at ~3 ms per 192x192 tile).
    tile_portrait: Annotated[float, Field(ge=0, le=1)] = 0.1
    quality: VisionQualityConfig = VisionQualityConfig()


class MqttBrokerConfig(Section):
    """An MQTT v5 broker reached over TLS with a client certificate (identity = certificate CN)."""

    host: str = "127.0.0.1"
    port: Annotated[int, Field(ge=1, le=65535)] = 8883
    ca_file: Path = Path("/etc/fieldface/mqtt/ca.pem")
    cert_file: Path = Path("/etc/fieldface/mqtt/client.pem")
    key_file: Path = Path("/etc/fieldface/mqtt/client.key")
    keepalive_s: Annotated[int, Field(ge=5, le=3600)] = 30
    # paho's reconnect back-off doubles from min to max while the broker is unreachable. A unit
    # coming back after an outage sits out up to one whole max period before it even tries: 120 s
    # cost a returning unit ~2 minutes; 5 s keeps a 5,000-entry drain within ~10 s (scripts/
    # bench_central.py drain). A failed attempt is cheap for the broker (TCP refused or one TLS
    # handshake every 5 s per unit).
    reconnect_min_s: Annotated[float, Field(ge=0.1, le=60)] = 1.0
    reconnect_max_s: Annotated[float, Field(ge=1, le=3600)] = 5.0
    # How long the broker keeps our session (subscriptions, queued QoS 1 messages) while we are
    # away. Delivery never depends on it (the outbox is the store), it only saves resends.
    session_expiry_s: Annotated[int, Field(ge=0, le=2**32 - 1)] = 30 * 24 * 3600


class SyncConfig(Section):
    """Device side: the audit outbox, delivered to the central receiver over MQTT."""

    broker: MqttBrokerConfig = MqttBrokerConfig()
    topic_prefix: Annotated[str, Field(pattern=r"^[A-Za-z0-9_/-]{1,100}$")] = "fieldface/audit"
    # Agency bundles and erasure orders (`fieldface gallery fetch`; device/gallery/delivery.py).
    gallery_prefix: Annotated[str, Field(pattern=r"^[A-Za-z0-9_/-]{1,100}$")] = "fieldface/gallery"
    # Name of the sync cursor in the store; one per central site.
    destination: Annotated[str, Field(pattern=r"^[A-Za-z0-9._-]{1,64}$")] = "central"
    batch_size: Annotated[int, Field(ge=1, le=5000)] = 500
    # Batches sent before the first of them is acknowledged (end to end, not PUBACK).
    window: Annotated[int, Field(ge=1, le=64)] = 4
    # No ack progress for this long: resend from the last ack; doubles up to ack_timeout_max_s.
    ack_timeout_s: Annotated[float, Field(gt=0, le=600)] = 10.0
    ack_timeout_max_s: Annotated[float, Field(gt=0, le=3600)] = 300.0
    poll_s: Annotated[float, Field(gt=0, le=60)] = 0.5
    # A signed heartbeat (head, backlog, uptime, version, disk) on the status topic this often.
    heartbeat_s: Annotated[float, Field(gt=0, le=3600)] = 60.0


class ReceiverConfig(Section):
    """Central side: the MQTT receiver that verifies every unit's chain into the central store."""

    broker: MqttBrokerConfig = MqttBrokerConfig()
    topic_prefix: Annotated[str, Field(pattern=r"^[A-Za-z0-9_/-]{1,100}$")] = "fieldface/audit"
    client_id: Annotated[str, Field(pattern=r"^[A-Za-z0-9._-]{1,64}$")] = "fieldface-receiver"
    # Where `central gallery publish|erase` put bundles and orders (retained) for the fleet.
    gallery_prefix: Annotated[str, Field(pattern=r"^[A-Za-z0-9_/-]{1,100}$")] = "fieldface/gallery"
    # Several receivers behind one broker: the same group name makes them share the load
    # (MQTT v5 shared subscription $share/<group>/...). Empty: a plain subscription. Members of a
    # group connect without a persistent session, so a dead one stops being handed batches at once
    # (docs/central-receiver.md, "a dead receiver").
    share_group: Annotated[str, Field(pattern=r"^[A-Za-z0-9._-]{0,64}$")] = ""
    # The other way to split the load: "K/N", this receiver handles the units whose name hashes to
    # K of N (device/central/mqtt.py shard_of), with no share group; one receiver per unit keeps
    # its batches in order (no gaps), but a dead receiver's units wait for it. Empty: every unit.
    shard: Annotated[str, Field(pattern=r"^(|[0-9]{1,3}/[0-9]{1,3})$")] = ""

    @model_validator(mode="after")
    def _shard_fits(self):
        if self.shard:
            k, n = (int(x) for x in self.shard.split("/"))
            if not 0 <= k < n:
                raise ValueError(f"receiver.shard {self.shard!r}: K/N with 0 <= K < N")
            if self.share_group:
                raise ValueError("receiver.shard and receiver.share_group are two ways to split the load: set one")
        return self

    # A restored unit is sent the entries it lost (to re-apply erasures) in one retained message up
    # to this many entries; above it, an operator carries them on media (central recovery).
    recovery_max_entries: Annotated[int, Field(ge=0, le=1_000_000)] = 50_000


class CentralConfig(Section):
    """The central store (device/central) that receivers write, `fieldface central` manages and
    the console reads."""

    # `fieldface central --store DIR` overrides it. With database empty: SQLite DIR/central.db.
    store_dir: Path = Path("/var/lib/fieldface-central")
    # The central master secret (it opens the SQLCipher store; the agency's publishing key is a
    # credential of its own, device/central/gallery/agency.py): this systemd credential, else
    # $FIELDFACE_KEY_FILE, else a typed passphrase.
    credential_name: Annotated[str, Field(pattern=r"^[A-Za-z0-9._-]{1,64}$")] = "fieldface-central-key"
    # Empty, or postgresql://ROLE@HOST:PORT/DB: admin commands use the owner, receivers the writer
    # role, the console the auditor role (each its own config file). The password, if any, is read
    # from password_file (e.g. a systemd credential), never written here.
    database: str = ""
    password_file: Path | None = None
    writer_role: Annotated[str, Field(pattern=r"^[a-z_][a-z0-9_]{0,62}$")] = "fieldface_writer"
    auditor_role: Annotated[str, Field(pattern=r"^[a-z_][a-z0-9_]{0,62}$")] = "fieldface_auditor"
    # A unit not heard from (batch or heartbeat) for this long counts as offline, whatever it said.
    offline_after_s: Annotated[float, Field(gt=0, le=30 * 86400)] = 180.0


class ConsoleConfig(Section):
    """The central console (web/console): fleet, alerts, reports, explorer. ``fieldface central serve``."""

    bind: str = "127.0.0.1:8090"
    # PostgreSQL: the console's own role (a member of central.auditor_role that may write only the
    # console's tables); central.database in the console's config names it as the user.
    role: Annotated[str, Field(pattern=r"^[a-z_][a-z0-9_]{0,62}$")] = "fieldface_console"
    name: Annotated[str, Field(pattern=r"^[A-Za-z0-9._-]{1,64}$")] = "central"
    # Alerts: a unit silent this long; searches / quality overrides by one unit above these counts
    # within rate_window_h (the agency's policy rates).
    silence_after_s: Annotated[float, Field(gt=0, le=90 * 86400)] = 6 * 3600.0
    rate_window_h: Annotated[float, Field(gt=0, le=24 * 31)] = 24.0
    max_searches: Annotated[int, Field(ge=1, le=10_000_000)] = 200
    max_overrides: Annotated[int, Field(ge=1, le=10_000_000)] = 10
    # An erasure order a unit has not proved applied (its gallery.erasure_applied entry) this long
    # after it was issued (or after the unit was registered, if later).
    erasure_overdue_s: Annotated[float, Field(gt=0, le=365 * 86400)] = 7 * 86400.0
    # Alerts are published (QoS 1, retained per alert) under this prefix via receiver.broker.
    # Empty: not published (they are still shown and logged).
    alerts_topic: Annotated[str, Field(pattern=r"^([A-Za-z0-9_/-]{1,100})?$")] = ""
    alert_check_s: Annotated[float, Field(gt=0, le=3600)] = 60.0


class CameraConfig(Section):
    """The one camera of the unit, owned by one process (the web UI): stills for probes, a preview for framing."""

    # disabled: no camera; picamera2: Raspberry Pi camera (Raspberry Pi OS only); opencv: USB camera
    # index ("0"), RTSP URL or video file; files: a still image or a folder of them (tests, demos).
    type: Literal["disabled", "picamera2", "opencv", "files"] = "disabled"
    source: str = "0"
    # Full resolution for probes (the HQ camera's 12 MP); the preview only frames the shot.
    still_size: tuple[Annotated[int, Field(ge=16, le=16384)], Annotated[int, Field(ge=16, le=16384)]] = (4056, 3040)
    preview_size: tuple[Annotated[int, Field(ge=16, le=4096)], Annotated[int, Field(ge=16, le=4096)]] = (640, 480)
    preview_fps: Annotated[float, Field(gt=0, le=60)] = 10.0
    preview_jpeg_quality: Annotated[int, Field(ge=10, le=100)] = 70
    still_jpeg_quality: Annotated[int, Field(ge=10, le=100)] = 95
    # Live guidance on the preview: at most this many frames a second are analysed (detection,
    # landmarks, quality; never embedded) in one thread, the newest frame first; 0 switches it off.
    guidance_fps: Annotated[float, Field(ge=0, le=30)] = 10.0
    # Capture takes this many full-resolution stills and keeps the best by the unified quality score.
    burst: Annotated[int, Field(ge=1, le=10)] = 5
    # files source, a folder: each picture is shown this long in the preview, as a camera would
    # play a scene (0: a picture stays until a still is taken, then the next one is shown).
    files_frame_s: Annotated[float, Field(ge=0, le=3600)] = 0.0
    # A camera that vanished is retried this often; meanwhile it is reported, never fatal.
    retry_s: Annotated[float, Field(gt=0, le=600)] = 2.0
    # Who owns the camera: a second process that tries to open it is refused.
    lock_file: Path = Path("/run/fieldface/camera.lock")


GpioPin = Annotated[str, Field(pattern=r"^(|GPIO[0-9]{1,2}|BOARD[0-9]{1,2}|[0-9]{1,2})$")]


class GpioConfig(Section):
    """Switches, buttons and LEDs on the GPIO header, through gpiozero. An empty pin: not fitted."""

    type: Literal["disabled", "gpiozero"] = "disabled"
    # lgpio drives the Pi 4 and the Pi 5's RP1 alike (Bookworm's default); mock: gpiozero's
    # MockFactory, for trying a config on a bench without pins.
    pin_factory: Literal["lgpio", "rpigpio", "native", "mock"] = "lgpio"
    # Case switch wired to ground with the pull-up on: a closed case holds it "pressed".
    tamper_pin: GpioPin = ""
    tamper_when: Literal["released", "pressed"] = "released"
    panic_pin: GpioPin = ""
    panic_hold_s: Annotated[float, Field(gt=0, le=60)] = 5.0
    shutdown_pin: GpioPin = ""
    shutdown_hold_s: Annotated[float, Field(gt=0, le=60)] = 2.0
    led_red_pin: GpioPin = ""
    led_green_pin: GpioPin = ""
    led_blue_pin: GpioPin = ""


class HooksConfig(Section):
    """The hooks service: tamper lock, panic wipe, LEDs, shutdown, and integrator scripts."""

    # credential: unlock at boot from the systemd credential (TPM2-sealed); passphrase: wait for
    # the touchscreen unlock screen. A tamper lock always needs the passphrase.
    unlock: Literal["credential", "passphrase"] = "credential"
    # Folders on-tamper/, on-unlock/, on-lock/, on-wipe/, on-sync-ok/, on-ready/ of executables.
    dir: Path = Path("/etc/fieldface/hooks")
    enabled: bool = True
    timeout_s: Annotated[float, Field(gt=0, le=600)] = 10.0
    # A panic wipe first tries this long to get its own audit entry to the central receiver.
    wipe_upstream_timeout_s: Annotated[float, Field(ge=0, le=600)] = 10.0
    # Also destroyed (best effort) by a panic wipe. Destroying the key slots is the erase: the root
    # key exists nowhere else, so a sealed credential left behind unwraps nothing.
    wipe_files: list[Path] = []
    shutdown_command: list[str] = ["systemctl", "poweroff"]
    # How often the lockdown marker is checked by every keyed process (tamper lock within 1 s).
    poll_s: Annotated[float, Field(gt=0, le=1)] = 0.2
    # Shared by the web and hooks processes: activity/searching exists while a search runs (LED).
    runtime_dir: Path = Path("/run/fieldface")


class GalleryConfig(Section):
    """Enrollment rules and the vector index (USearch) over the encrypted gallery."""

    default_gallery: Annotated[str, Field(pattern=r"^[A-Za-z0-9._-]{1,64}$")] = "default"
    # The worst probe-quality verdict still accepted for enrollment without --force.
    enroll_min_quality: Literal["pass", "warn"] = "pass"
    # Default retention of a new subject when none is given (days); 0 = until deleted by hand.
    retain_days: Annotated[int, Field(ge=0, le=36_500)] = 0
    # f16 keeps recall (see notes) at half the memory of f32; i8 loses recall to quantisation.
    index_dtype: Literal["f16", "f32"] = "f16"
    # At or below this many vectors, brute force over the index is exact and about as fast as the
    # graph (about 1 ms for 10k on a Pi-class core); above it, HNSW.
    exact_search_max: Annotated[int, Field(ge=0, le=10_000_000)] = 10_000
    hnsw_connectivity: Annotated[int, Field(ge=4, le=64)] = 16
    hnsw_expansion_add: Annotated[int, Field(ge=8, le=1024)] = 128
    # 512: recall@20 >= 0.99 on clustered face-like data (scripts/bench_gallery.py); 128 gave 0.94.
    hnsw_expansion_search: Annotated[int, Field(ge=8, le=4096)] = 512
    index_threads: Annotated[int, Field(ge=1, le=16)] = 2


class SearchConfig(Section):
    """Investigation-mode search: what a search must state, and how results are presented."""

    # The offence categories this agency allows searches for; a search names one of them.
    offense_categories: Annotated[list[Annotated[str, Field(min_length=1, max_length=80)]], Field(min_length=1)] = [
        "homicide",
        "robbery",
        "sexual-offense",
        "kidnapping",
        "missing-person",
        "assault",
        "burglary",
        "fraud",
    ]
    top_k: Annotated[int, Field(ge=1, le=200)] = 20
    # Candidates at or above this cosine similarity are shown as "worth examining", apart from
    # the rest; device/gallery/scores.py says what a score means in false-match terms.
    worth_examining: Annotated[float, Field(ge=-1, le=1)] = 0.40
    # How long a probe image is kept with its search (days), unless its case is on legal hold.
    probe_retain_days: Annotated[int, Field(ge=1, le=36_500)] = 365


class WorkflowConfig(Section):
    """Users, sessions and the five-step review workflow (device/workflow)."""

    # Argon2id for user passwords: OWASP's minimum (19 MiB, 2 passes) is about 0.1 s on a Pi 4,
    # paid once per login; keys.argon2_* is the costlier unlock of the whole store.
    argon2_memory_kib: Annotated[int, Field(ge=8, le=1024 * 1024)] = 19_456
    argon2_iterations: Annotated[int, Field(ge=1, le=16)] = 2
    min_password_length: Annotated[int, Field(ge=8, le=256)] = 10
    # Login throttling (device/workflow/throttle.py): after max_failed_logins failures of one account
    # from one source (4x that from one source over all accounts) each further attempt waits twice
    # as long as the last (1 s, 2 s, 4 s ...), at most login_delay_max_s: guessing is slowed, but
    # nobody can lock an account out for longer than that. Failures are forgotten after
    # login_forget_minutes without one.
    max_failed_logins: Annotated[int, Field(ge=1, le=100)] = 5
    login_delay_max_s: Annotated[int, Field(ge=1, le=3600)] = 60
    login_forget_minutes: Annotated[int, Field(ge=1, le=24 * 60)] = 15
    # A shared touchscreen left alone logs its user out.
    idle_timeout_minutes: Annotated[int, Field(ge=1, le=24 * 60)] = 15
    session_max_hours: Annotated[int, Field(ge=1, le=72)] = 12
    # The box serves plain HTTP on its own screen; set true behind a TLS proxy.
    secure_cookies: bool = False
    max_upload_mb: Annotated[int, Field(ge=1, le=200)] = 20


class PolicyConfig(Section):
    """Start-up defaults of the agency policy a supervisor may change at run time (device/policy.py)."""

    # CJIS Security Policy 5.4 asks for audit records to be kept at least one year.
    audit_retain_days: Annotated[int, Field(ge=365, le=36_500)] = 365
    # The enhancement step (crop, level, brightness/contrast, denoise) of the workflow.
    enhancement_allowed: bool = True
    # The peer reviewer does not see the examiner's disposition before recording their own.
    blind_review: bool = True
    # How long a user's recorded training stays valid for searching and reviewing (days).
    training_valid_days: Annotated[int, Field(ge=1, le=3650)] = 365
    # Who may take a disclosure package with every candidate's face and name (device/disclosure);
    # everyone else gets it with candidates other than the lead redacted.
    disclosure_unredacted_roles: list[Literal["examiner", "reviewer", "supervisor", "auditor"]] = ["supervisor"]
    # Who releases a concurred lead report: "supervisor" (a third person, the README's account
    # table) or "examiner" (the case's examiner, or a supervisor, for agencies that allow it).
    release_by: Literal["supervisor", "examiner"] = "supervisor"


class ReportsConfig(Section):
    """Operational testing from the web UI (web/reports.py); the CLI reads any folder its user can."""

    # The web page only reads labelled photos below this folder (where removable media mount), so a
    # supervisor's browser cannot point the unit's recognizer at the data dir or /etc.
    evaluation_root: Path = Path("/media")
    # All image pairs are scored in memory (n^2/2 float64): 3000 photos are about 0.3 GB on the Pi.
    # Larger sets: `fieldface evaluate` on a bigger machine's copy of the model.
    evaluation_max_images: Annotated[int, Field(ge=2, le=20_000)] = 3000


class LoggingConfig(Section):
    level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"


class Config(Section):
    device: DeviceConfig = DeviceConfig()
    store: StoreConfig = StoreConfig()
    keys: KeysConfig = KeysConfig()
    web: WebConfig = WebConfig()
    vision: VisionConfig = VisionConfig()
    sync: SyncConfig = SyncConfig()
    receiver: ReceiverConfig = ReceiverConfig()
    central: CentralConfig = CentralConfig()
    console: ConsoleConfig = ConsoleConfig()
    camera: CameraConfig = CameraConfig()
    gpio: GpioConfig = GpioConfig()
    hooks: HooksConfig = HooksConfig()
    gallery: GalleryConfig = GalleryConfig()
    search: SearchConfig = SearchConfig()
    policy: PolicyConfig = PolicyConfig()
    workflow: WorkflowConfig = WorkflowConfig()
    reports: ReportsConfig = ReportsConfig()
    logging: LoggingConfig = LoggingConfig()


def parse_bind(value: str) -> tuple[str, int]:
    """``HOST:PORT`` (IPv6 as ``[::1]:PORT``) into its parts; ValueError with the reason."""
    host, sep, port = value.rpartition(":")
    if not sep or not host:
        raise ValueError(f"expected HOST:PORT, got {value!r}")
    if not port.isdigit() or not 0 < int(port) < 65536:
        raise ValueError(f"port must be 1-65535, got {port!r}")
    return host.strip("[]"), int(port)


def config_path(cli_path: str | os.PathLike | None, env: dict[str, str] | None = None) -> tuple[Path, bool]:
    """The file to read and whether it was named explicitly (then it must exist)."""
    env = os.environ if env is None else env
    if cli_path:
        return Path(cli_path), True
    if env.get(ENV_CONFIG):
        return Path(env[ENV_CONFIG]), True
    return DEFAULT_CONFIG_PATH, False


def load_config(cli_path: str | os.PathLike | None = None, env: dict[str, str] | None = None) -> Config:
    """Read and validate the config; every failure is a ConfigError naming file, key and reason."""
    path, explicit = config_path(cli_path, env)
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        if explicit:
            raise ConfigError(f"config file {path} does not exist") from None
        return Config()
    except OSError as exc:
        raise ConfigError(f"config file {path}: cannot read: {exc.strerror}") from None
    try:
        data = tomllib.loads(raw.decode("utf-8"))
    except UnicodeDecodeError:
        raise ConfigError(f"config file {path}: not UTF-8 text") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"config file {path}: not valid TOML: {exc}") from None
    return validate_config(data, source=str(path))


def validate_config(data: dict, source: str = "<config>") -> Config:
    try:
        return Config.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(f"config file {source}: {describe_validation_error(exc)}") from None


def describe_validation_error(exc: ValidationError) -> str:
    """First problem as ``key.path: reason`` (and how many more), short enough for one line."""
    errors = exc.errors()
    first = errors[0]
    key = ".".join(str(part) for part in first["loc"]) or "(top level)"
    reason = "unknown key" if first["type"] == "extra_forbidden" else first["msg"]
    more = f" (and {len(errors) - 1} more problem(s))" if len(errors) > 1 else ""
    return f"{key}: {reason}{more}"


def resolve_data_dir(config: Config, cli_value: str | os.PathLike | None, env: dict[str, str] | None = None) -> Path:
    """``--data-dir`` beats ``$FIELDFACE_DATA_DIR`` beats ``store.data_dir`` in the config."""
    env = os.environ if env is None else env
    if cli_value:
        return Path(cli_value)
    if env.get(ENV_DATA_DIR):
        return Path(env[ENV_DATA_DIR])
    return config.store.data_dir
