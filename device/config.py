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

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

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


class VisionConfig(Section):
    """Recognition pipeline: model files, interpreter, input limits, quality thresholds."""

    interpreter: Literal["auto", "ai-edge-litert", "tflite-runtime"] = "auto"
    threads: Annotated[int, Field(ge=1, le=16)] = 2
    # Refuse an image above this many pixels *before* decoding it (decompression bombs).
    max_pixels: Annotated[int, Field(ge=10_000, le=400_000_000)] = 50_000_000


class LoggingConfig(Section):
    level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"


class Config(Section):
    device: DeviceConfig = DeviceConfig()
    store: StoreConfig = StoreConfig()
    keys: KeysConfig = KeysConfig()
    web: WebConfig = WebConfig()
    vision: VisionConfig = VisionConfig()
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
